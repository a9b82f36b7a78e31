"""A site to test the web pages on: the shipped samples plus a hostile document, ingested by the
real `gongkai ingest` command (so lineage, validity and keywords are filled as in production)."""

from __future__ import annotations

import json
from pathlib import Path

from gongkai.settings import Settings
from tests.support.cli import run_gongkai

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "sample_docs.jsonl"

HOSTILE_ID = "hostile-001"
HOSTILE_TITLE = "<script>alert(1)</script>关于<img src=x onerror=alert(2)>低保的通知"
# Each payload would call alert() if it ever ran; tests listen for dialogs.
HOSTILE = {
    "id": HOSTILE_ID,
    "title": HOSTILE_TITLE,
    "body": (
        "低保审核 <script>alert(3)</script> 正文\n"
        '第二段 <img src=x onerror="alert(4)"> 与 <a href="javascript:alert(5)">链接</a> &amp;'
    ),
    "agency": "示例市<b onmouseover=alert(6)>民政局</b>",
    "doc_number": "示民发〔2024〕<i>9</i>号",
    "validity": "有效",
    "date_published": "2024-05-01",
    "url": "javascript:alert(7)",
    "attachments": [{"name": "<script>alert(8)</script>附件.pdf", "url": "javascript:alert(9)"}],
}


def build_site(data_dir: Path) -> Settings:
    """Ingest the samples and the hostile document into ``data_dir``; settings to serve it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    hostile = data_dir.parent / f"{data_dir.name}-hostile.jsonl"
    hostile.write_text(json.dumps(HOSTILE, ensure_ascii=False) + "\n", encoding="utf-8")
    done = run_gongkai("ingest", str(SAMPLES), str(hostile), data_dir=data_dir)
    if done.returncode != 0:
        raise RuntimeError(f"gongkai ingest failed: {done.stderr}")
    return Settings(data_dir=data_dir)
