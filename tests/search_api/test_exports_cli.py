"""``gongkai export`` as a user runs it (a real subprocess): query and compilation exports,
clear errors, and a full disk (RLIMIT_FSIZE -> EFBIG) leaving no file behind."""

from __future__ import annotations

import csv
import io
import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from compilations.models import CompilationCreate
from compilations.service import CompilationService
from engines import make_backend
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from tests.compilations.export.documents import ABOLISHED, DOCS, FULL, HOSTILE
from tests.support.cli import run_gongkai

# Big enough that its CSV row alone passes the file-size limit of the disk-full test.
LONG = Document(
    id="long",
    title="关于做好最低生活保障资金管理的通知",
    body="最低生活保障资金实行专账管理。\n" * 3000,
    agency="示例省财政厅",
    validity="有效",
)
FILE_LIMIT = 16 * 1024


@dataclass(frozen=True)
class Index:
    data_dir: Path
    compilation: int


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, tokenizer: GovTokenizer) -> Index:
    settings = Settings(data_dir=tmp_path_factory.mktemp("cli-export"))
    backend = make_backend(settings)
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run([*DOCS, LONG])
    database = create_database_engine(settings)
    compilations = CompilationService(database, backend)
    cid = compilations.create(
        "lib", CompilationCreate(title="命令行汇编", sections=["甲", "乙"], status="published")
    ).id
    compilations.add_documents(cid, "lib", [ABOLISHED.id], section="甲", note="旧办法")
    compilations.add_documents(cid, "lib", [FULL.id, "gone-1"], section="乙")
    backend.close()
    database.dispose()
    return Index(settings.data_dir, cid)


def test_query_export_to_csv_with_filters(index: Index, tmp_path: Path) -> None:
    out = tmp_path / "dibao.csv"
    result = run_gongkai(
        "export", "--query", "最低生活保障", "--validity", "废止", "--out", str(out),
        data_dir=index.data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "wrote 1 documents as csv" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert [r["id"] for r in rows] == [ABOLISHED.id]
    assert rows[0]["validity"] == "废止"


def test_query_export_json_summary_and_format_from_suffix(index: Index, tmp_path: Path) -> None:
    out = tmp_path / "refs.bib"
    result = run_gongkai(
        "export", "--query", "最低生活保障", "--out", str(out), "--json", data_dir=index.data_dir
    )
    assert result.returncode == 0, result.stderr
    assert '"format": "bibtex"' in result.stdout
    text = out.read_text(encoding="utf-8")
    assert f"@misc{{gongkai:{FULL.id}," in text and f"@misc{{gongkai:{HOSTILE.id}," in text


def test_compilation_export_to_pdf(index: Index, tmp_path: Path) -> None:
    out = tmp_path / "booklet.pdf"
    result = run_gongkai(
        "export", "--compilation", str(index.compilation), "--format", "pdf", "--out", str(out),
        data_dir=index.data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reader = PdfReader(out)
    outline = reader.outline
    assert [o.title for o in outline if not isinstance(o, list)] == ["甲", "乙"]
    assert [o.title for o in outline[1]] == [ABOLISHED.title]
    assert [o.title for o in outline[3]] == [FULL.title, "gone-1"]
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "")
    assert "编者按：旧办法" in text and "【文件缺失】" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.csv"], "give exactly one of --query or --compilation"),
        (["--query", "a", "--compilation", "1", "--out", "x.csv"], "give exactly one"),
        (["--query", "低保", "--out", "x.odt"], "unknown export format 'odt'"),
        (["--compilation", "4242", "--out", "x.csv"], "no compilation with id 4242"),
    ],
)
def test_bad_requests_exit_1_with_a_message(
    index: Index, tmp_path: Path, args: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "search_api", "export", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "GONGKAI_DATA_DIR": str(index.data_dir)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def _limit_file_size() -> None:
    # In the child before exec: writes past FILE_LIMIT fail with EFBIG (SIGXFSZ stays ignored
    # across exec, so the process gets the error instead of being killed).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, resource.RLIM_INFINITY))


@pytest.mark.parametrize("export_format", ["csv", "pdf"])
def test_disk_full_exits_nonzero_and_leaves_no_file(
    index: Index, tmp_path: Path, export_format: str
) -> None:
    out = tmp_path / f"all.{export_format}"
    result = subprocess.run(
        [sys.executable, "-m", "search_api", "export", "--query", "", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "GONGKAI_DATA_DIR": str(index.data_dir), "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=_limit_file_size,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    message = "".join(result.stderr.split())  # rich wraps long lines
    assert f"error:couldnotwrite{out}:Filetoolarge;nofilewasleftinitsplace" in message
    assert list(tmp_path.iterdir()) == []
