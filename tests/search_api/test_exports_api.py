"""GET /export and GET /compilations/{id}/export on a real uvicorn server: formats parsed back,
filters honoured, compilation order, sections, notes and missing documents, permissions."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import docx
import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from compilations.models import CompilationCreate
from compilations.service import CompilationService
from engines import make_backend
from gongkai.accounts import AccountStore
from gongkai.database import create_database_engine
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from search_api.app import create_app
from tests.compilations.export.documents import ABOLISHED, DOCS, FULL, HOSTILE, MANY
from tests.support.live_server import free_port, live_server


@dataclass(frozen=True)
class Site:
    url: str
    published: int
    draft: int
    librarian_key: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, tokenizer: GovTokenizer) -> Iterator[Site]:
    # Rate limits off: this module makes more export requests than a person would.
    settings = Settings(data_dir=tmp_path_factory.mktemp("exports"), rate_limit_export="")
    backend = make_backend(settings)
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run(DOCS)
    database = create_database_engine(settings)
    _, key = AccountStore(database).create_user("lib", "librarian")
    compilations = CompilationService(database, backend)
    published = compilations.create(
        "lib",
        CompilationCreate(
            title="低保文件汇编",
            description="测试用汇编",
            status="published",
            sections=["国家", "地方"],
        ),
    ).id
    compilations.add_documents(published, "lib", [FULL.id], section="国家", note="总纲")
    compilations.add_documents(published, "lib", [ABOLISHED.id, "gone-1"], section="地方")
    draft = compilations.create("lib", CompilationCreate(title="草稿汇编")).id
    compilations.add_documents(draft, "lib", [MANY.id])
    backend.close()
    with live_server(create_app(settings)) as url:
        yield Site(url, published, draft, key)
    database.dispose()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def get(site: Site, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{site.url}{path}", params=params, timeout=120)  # type: ignore[arg-type]


def test_query_export_as_csv_honours_filters(site: Site) -> None:
    everything = get(site, "/export", q="最低生活保障", format="csv")
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("text/csv")
    assert "attachment" in everything.headers["content-disposition"]
    ids = {r["id"] for r in csv_rows(everything.content)}
    assert {FULL.id, ABOLISHED.id, HOSTILE.id} <= ids
    in_force = get(site, "/export", q="最低生活保障", format="csv", validity="有效")
    rows = csv_rows(in_force.content)
    assert [r["id"] for r in rows] == [FULL.id]
    assert rows[0]["doc_number"] == "国办发〔2013〕73号"
    assert in_force.headers["x-gongkai-total"] == "1"
    assert in_force.headers["x-gongkai-truncated"] == "false"


def test_query_export_of_everything_as_jsonl(site: Site) -> None:
    response = get(site, "/export", format="jsonl", sort="newest")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert sorted(r["id"] for r in records) == sorted(d.id for d in DOCS)
    assert next(r for r in records if r["id"] == FULL.id)["source_category"] == "政策文件"


def test_query_export_as_xlsx_and_pdf(site: Site) -> None:
    xlsx = get(site, "/export", q="最低生活保障", format="xlsx", agency="国务院办公厅")
    assert xlsx.status_code == 200
    assert int(xlsx.headers["content-length"]) == len(xlsx.content)
    with closing(load_workbook(io.BytesIO(xlsx.content), read_only=True)) as book:
        rows = list(book["documents"].iter_rows(values_only=True))
    assert rows[0][:2] == ("id", "title") and [r[0] for r in rows[1:]] == [FULL.id]
    pdf = get(site, "/export", q="最低生活保障", format="pdf", validity="废止")
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "")
    assert ABOLISHED.title in text and "【本文件已废止】" in text
    assert FULL.title not in text


def test_query_export_bad_requests_are_problems(site: Site) -> None:
    unknown = get(site, "/export", q="低保", format="odt")
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    missing_format = get(site, "/export", q="低保")
    assert missing_format.status_code == 422


def test_compilation_export_keeps_order_sections_notes_and_missing(site: Site) -> None:
    response = get(site, f"/compilations/{site.published}/export", format="csv")
    assert response.status_code == 200
    rows = csv_rows(response.content)
    assert [(r["id"], r["section"], r["missing"]) for r in rows] == [
        (FULL.id, "国家", "false"),
        (ABOLISHED.id, "地方", "false"),
        ("gone-1", "地方", "true"),
    ]
    assert rows[0]["note"] == "总纲"


def test_compilation_booklet_as_docx(site: Site) -> None:
    response = get(site, f"/compilations/{site.published}/export", format="docx")
    document = docx.Document(io.BytesIO(response.content))
    headings = [
        (p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")
    ]
    assert headings == [
        ("Heading 1", "国家"),
        ("Heading 2", FULL.title),
        ("Heading 1", "地方"),
        ("Heading 2", ABOLISHED.title),
        ("Heading 2", "gone-1"),
    ]
    texts = [p.text for p in document.paragraphs]
    assert "低保文件汇编" in texts and "收录文件：3 件" in texts
    assert "【文件缺失】" in texts and "编者按：总纲" in texts


def test_drafts_are_exported_to_librarians_only(site: Site) -> None:
    path = f"/compilations/{site.draft}/export"
    anonymous = get(site, path, format="ris")
    assert anonymous.status_code == 404
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    librarian = httpx.get(
        f"{site.url}{path}",
        params={"format": "ris"},
        headers={"Authorization": f"Bearer {site.librarian_key}"},
    )
    assert librarian.status_code == 200
    assert librarian.text.startswith("TY  - GOVDOC\r\n")
    assert f"TI  - {MANY.title}\r\n" in librarian.text


def test_unknown_compilation_is_404(site: Site) -> None:
    response = get(site, "/compilations/999999/export", format="csv")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_export_routes_are_in_the_openapi_schema(site: Site) -> None:
    paths = httpx.get(f"{site.url}/openapi.json").json()["paths"]
    assert "/export" in paths and "/compilations/{compilation_id}/export" in paths


@pytest.mark.parametrize("export_format", ["pdf", "docx", "xlsx", "csv"])
def test_hostile_title_and_query_still_export(site: Site, export_format: str) -> None:
    response = get(
        site, "/export", q="？！。…", format=export_format, title='<script>x</script>\x01"汇编'
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert int(response.headers["x-gongkai-total"]) >= 0
    assert len(response.content) > 0


SERVE = """
import sys, uvicorn
from gongkai.settings import Settings
from search_api.app import create_app
settings = Settings(data_dir=sys.argv[1], rate_limit_export="")
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[2]), log_level="error")
"""


def _small_disk() -> None:
    # Writes past 16 KB fail with EFBIG (SIGXFSZ ignored so the write returns the error).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, resource.RLIM_INFINITY))


def test_disk_full_while_building_a_booklet_is_a_507_problem(
    tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    backend = make_backend(settings)
    long = FULL.model_copy(update={"id": "long", "body": "最低生活保障标准逐年提高。\n" * 3000})
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run([*DOCS, long])
    backend.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(settings.data_dir), str(port)],
        env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=_small_disk,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        booklet = httpx.get(f"{url}/export", params={"format": "pdf"}, timeout=120)
        assert booklet.status_code == 507
        assert booklet.headers["content-type"].startswith("application/problem+json")
        assert "File too large" in booklet.json()["detail"]
        # Streamed formats need no disk: the same export as CSV still works.
        streamed = httpx.get(f"{url}/export", params={"format": "csv"}, timeout=120)
        assert streamed.status_code == 200 and len(streamed.content) > 16 * 1024
        # Nothing of the failed booklet is left in the temporary folder.
        assert [p.name for p in tmp_path.iterdir()] == ["data"]
    finally:
        server.terminate()
        server.wait(timeout=30)
