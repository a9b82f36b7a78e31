"""`gongkai compile` as a librarian runs it (real subprocesses), and living compilations end
to end: ingest, create with a standing query, ingest more, proposals appear."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gongkai.settings import Settings
from tests.support.cli import run_gongkai

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "sample_docs.jsonl"
# Held back from the first ingest: all but 026 are about 低保 (最低生活保障).
LATER = {"sample-021", "sample-022", "sample-023", "sample-025", "sample-026", "sample-009"}


def _split(tmp_path: Path) -> tuple[Path, Path]:
    first, later = tmp_path / "first.jsonl", tmp_path / "later.jsonl"
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    first.write_text(
        "\n".join(x for x in lines if json.loads(x)["id"] not in LATER) + "\n", encoding="utf-8"
    )
    later.write_text(
        "\n".join(x for x in lines if json.loads(x)["id"] in LATER) + "\n", encoding="utf-8"
    )
    return first, later


class Cli:
    def __init__(self, settings: Settings) -> None:
        self.data_dir = settings.data_dir / "state"
        self.env = {"GONGKAI_USER": "lin"}
        if settings.database_url:
            self.env["GONGKAI_DATABASE_URL"] = settings.database_url

    def run(self, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        done = run_gongkai(*args, data_dir=self.data_dir, **{**self.env, **env})
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.run(*args, "--json", **env).stdout)


@pytest.fixture
def cli(db_settings: Settings) -> Cli:
    return Cli(db_settings)


def test_living_compilation_proposes_newly_ingested_documents(cli: Cli, tmp_path: Path) -> None:
    first, later = _split(tmp_path)
    cli.run("ingest", str(first))
    made = cli.json(
        "compile", "create", "低保政策汇编", "--query", "最低生活保障", "--filter", "validity=有效"
    )
    cid = str(made["id"])
    assert made["query"] == {
        "q": "最低生活保障",
        "filters": {"validity": ["有效"]},
        "year_from": None,
        "year_to": None,
    }
    done = cli.run("ingest", str(later))
    assert "proposed" in done.stderr
    inbox = cli.json("compile", "proposals", cid)
    # The 低保 documents in force among the new ones; not the repealed 023, not 养老金 009.
    assert {p["doc_id"] for p in inbox} == {"sample-021", "sample-022", "sample-025", "sample-026"}
    assert all(p["reason"]["matched_terms"] for p in inbox)
    assert cli.json("compile", "show", cid)["documents"] == []  # never added silently
    accepted = cli.json("compile", "accept", cid, "sample-022", "sample-021", "--as", "wang")
    assert [d["doc_id"] for d in accepted["documents"]] == ["sample-022", "sample-021"]
    cli.run("compile", "reject", cid, "sample-026")
    again = cli.run("ingest", str(later))
    assert "no new proposals" in again.stderr
    assert [p["doc_id"] for p in cli.json("compile", "proposals", cid)] == ["sample-025"]
    history = cli.json("compile", "history", cid)
    assert [v["author"] for v in history] == ["wang", "wang", "lin"]


def test_editing_history_restore_conflicts_and_seeding(cli: Cli, tmp_path: Path) -> None:
    cli.run("ingest", str(SAMPLES))
    cid = str(cli.json("compile", "create", "低保", "--section", "标准")["id"])
    cli.run("compile", "add", cid, "sample-020", "sample-021", "--section", "标准")
    cli.run("compile", "add", cid, "sample-022")
    cli.run("compile", "section", "add", cid, "审核")
    cli.run("compile", "move", cid, "sample-022", "--section", "审核")
    cli.run("compile", "note", cid, "sample-020", "2023年标准", "--as", "wang")
    shown = cli.json("compile", "show", cid)
    assert [(d["doc_id"], d["section"], d["note"]) for d in shown["documents"]] == [
        ("sample-020", "标准", "2023年标准"),
        ("sample-021", "标准", ""),
        ("sample-022", "审核", ""),
    ]
    version = shown["version"]
    snap = cli.json("compile", "snapshot", cid, "第一版")
    assert snap["version"] == version
    cli.run("compile", "remove", cid, "sample-021", "--exclude")
    # Someone who looked at an older version is refused, with a clear message.
    stale = cli.run("compile", "note", cid, "sample-020", "x", "--expect", str(version), ok=False)
    assert stale.returncode == 1
    assert "changed by someone else" in stale.stderr and "Traceback" not in stale.stderr
    restored = cli.json("compile", "restore", cid, "--snapshot", "第一版")
    assert [d["doc_id"] for d in restored["documents"]] == [
        "sample-020",
        "sample-021",
        "sample-022",
    ]
    assert restored["excludes"] == []
    assert cli.json("compile", "history", cid)[0]["action"] == f"restore version {version} (第一版)"
    ordered = cli.json("compile", "order", cid, "--rule", "validity_then_date")
    assert ordered["order_rule"] == "validity_then_date"
    text = cli.run("compile", "show", cid).stdout
    assert "低保" in text and "2023年标准" in text and "审核" in text
    listed = cli.json("compile", "list")
    assert [(c["id"], c["documents"]) for c in listed] == [(int(cid), 3)]
    missing = cli.run("compile", "restore", cid, "99", ok=False)
    assert missing.returncode == 1 and "no version" in missing.stderr
    unknown = cli.run("compile", "show", "999", ok=False)
    assert unknown.returncode == 1 and "no compilation with id 999" in unknown.stderr
    cli.run("compile", "delete", cid, "--yes")
    assert cli.json("compile", "list") == []
    seeded = cli.json(
        "compile", "seed", "低保", "-t", "最低生活保障", "-t", "特困供养", "--limit", "8"
    )
    assert "低保" in seeded["expanded_terms"]
    proposed = [p["doc_id"] for p in seeded["proposed"]]
    assert 0 < len(proposed) <= 8
    assert {"sample-022", "sample-024"} <= set(proposed)
    table = cli.run("compile", "proposals", str(seeded["compilation_id"])).stdout
    assert "sample-024" in table
