"""Safe output: an export appears whole or not at all, also when the disk refuses writes
(a real EFBIG from RLIMIT_FSIZE in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from compilations.export.records import ExportItem
from compilations.export.writer import FORMATS, ExportError, export_to_file, get_format
from tests.compilations.export.documents import FULL, items, meta

REPO = Path(__file__).resolve().parents[3]


def failing_items() -> Iterator[ExportItem]:
    yield from items()[:3]
    raise RuntimeError("engine went away")


@pytest.mark.parametrize("name", list(FORMATS))
def test_an_error_midway_leaves_no_file(tmp_path: Path, name: str) -> None:
    target = tmp_path / f"out.{FORMATS[name].extension}"
    with pytest.raises(RuntimeError, match="engine went away"):
        export_to_file(failing_items(), meta(), FORMATS[name], target)
    assert list(tmp_path.iterdir()) == []


def test_an_error_keeps_the_previous_complete_export(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    export_to_file(items(), meta(), FORMATS["csv"], target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        export_to_file(failing_items(), meta(), FORMATS["csv"], target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_unknown_format_and_unwritable_folder_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format 'odt'; choose one of csv"):
        get_format("odt")
    with pytest.raises(ExportError, match="cannot write into"):
        export_to_file(items(), meta(), FORMATS["csv"], tmp_path / "no" / "such" / "out.csv")


# Runs in a child whose file-size limit makes writes past LIMIT fail with EFBIG (SIGXFSZ is
# ignored, so the write returns the error instead of killing the process).
CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from compilations.export.records import ExportItem
    from compilations.export.writer import FORMATS, ExportWriteError, export_to_file
    from tests.compilations.export.documents import FULL, meta

    name, target, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    big = FULL.model_copy(update={"body": "最低生活保障标准逐年提高。\\n" * 400})
    docs = [ExportItem(f"d{i}", big.model_copy(update={"id": f"d{i}"})) for i in range(12)]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        export_to_file(docs, meta(), FORMATS[name], target)
    except ExportWriteError as error:
        print(error)
        sys.exit(3)
    print("written")
    """
)


@pytest.mark.parametrize("name", ["csv", "jsonl", "xlsx", "docx", "pdf"])
def test_disk_full_leaves_no_partial_file(tmp_path: Path, name: str) -> None:
    target = tmp_path / f"out.{FORMATS[name].extension}"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(target), str(32 * 1024)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"could not write {target}: File too large" in result.stdout
    assert "no file was left in its place" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_same_export_without_the_limit_succeeds(tmp_path: Path) -> None:
    # The control for the test above: the documents do fit when the disk has room.
    target = tmp_path / "out.csv"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, "csv", str(target), str(1 << 30)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert target.stat().st_size > 32 * 1024
    assert FULL.title in target.read_text(encoding="utf-8-sig")


def test_export_is_readable_like_any_file(tmp_path: Path) -> None:
    target = export_to_file(items(), meta(), FORMATS["csv"], tmp_path / "out.csv")
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o640)
    export_to_file(items(), meta(), FORMATS["csv"], target)
    assert target.stat().st_mode & 0o777 == 0o640
