"""One batch mixing good documents with every kind of bad input the issue lists, ingested by the
real `gongkai ingest` command: each bad file is reported by name with a clear reason, and every
good document still arrives in the index."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.tokenizer import GovTokenizer
from engines import make_backend
from gongkai.settings import Settings
from search_api.service import SearchService
from tests.support.cli import run_gongkai

GOOD_HTML = (
    "<html><head><meta charset='utf-8'><title>关于做好最低生活保障工作的通知</title></head>"
    "<body><div class='TRS_Editor'><p>各区民政局：认真做好低保工作。</p></div></body></html>"
)


def _corpus(folder: Path) -> dict[str, str]:
    """Writes the batch; returns the good documents' titles by file name."""
    folder.mkdir()
    good = {
        "good.html": "关于做好最低生活保障工作的通知",
        "good-gbk.html": "关于做好房屋征收补偿的通知",
        "good.txt": "养老金调整办法",
    }
    (folder / "good.html").write_text(GOOD_HTML, encoding="utf-8")
    gbk = GOOD_HTML.replace("utf-8", "gbk").replace("最低生活保障工作", "房屋征收补偿")
    (folder / "good-gbk.html").write_bytes(gbk.encode("gbk"))
    (folder / "good.txt").write_text("养老金调整办法\n第一条 按规定调整。\n", encoding="utf-8")
    # Hostile HTML: deep nesting, a script, a 10 MB single line, invalid bytes.
    (folder / "nested.html").write_text(
        "<title>深层嵌套的页面</title>" + "<div>" * 20_000 + "正文" + "</div>" * 20_000
    )
    good["nested.html"] = "深层嵌套的页面"
    (folder / "script.html").write_text(
        "<title>含脚本的页面</title><script>alert('x')</script><p>办事指南</p>"
    )
    good["script.html"] = "含脚本的页面"
    # 2 MB on one line, mostly markup (a page builder's output), a little text. (The 10 MB
    # single line is in tests/ingest/test_html_properties.py; here it would only add minutes.)
    filler = "<span class='x'></span>" * (2 * 2**20 // 23)
    (folder / "one-line.html").write_text(f"<title>超长单行</title>{filler}<p>正文在最后。</p>")
    good["one-line.html"] = "超长单行"
    (folder / "invalid-bytes.html").write_bytes(b"\x00\xff\xfe\x00" * 5000 + b"\x81\x00" * 5000)
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 100)
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 not a document we read")
    # Malformed JSONL: a broken line between two good ones.
    lines = [
        json.dumps(
            {"id": "j1", "title": "就业补贴申领办法", "text": "就业补贴。"}, ensure_ascii=False
        ),
        '{"id": "broken", "title": "断行',
        json.dumps({"id": "j2", "title": "医疗保险报销规定", "text": "医保。"}, ensure_ascii=False),
    ]
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    good["records.jsonl:1"] = "就业补贴申领办法"
    good["records.jsonl:3"] = "医疗保险报销规定"
    return good


def test_bad_files_are_reported_and_every_good_document_is_indexed(tmp_path: Path) -> None:
    good = _corpus(tmp_path / "batch")
    data = tmp_path / "data"
    # Wide lines: the messages must not be wrapped mid-name.
    result = run_gongkai("ingest", str(tmp_path / "batch"), data_dir=data, COLUMNS="500")
    assert result.returncode in (0, 1), result.stderr
    for bad in ("invalid-bytes.html", "binary.txt", "scan.pdf", "records.jsonl:2"):
        assert bad in result.stderr, f"{bad} not reported:\n{result.stderr}"

    backend = make_backend(Settings(data_dir=data))
    try:
        assert backend.count() == len(good)
        service = SearchService(backend, GovTokenizer())
        for title in good.values():
            titles = [hit.title for hit in service.search(title, limit=3).hits]
            assert title in titles, (title, titles)
    finally:
        backend.close()
