"""The compilation service on a real database (SQLite and PostgreSQL) and a real index."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from compilations.errors import (
    CompilationNotFound,
    EntryNotFound,
    InvalidChange,
    VersionConflict,
    VersionNotFound,
)
from compilations.models import CompilationCreate, CompilationUpdate, StandingQuery
from compilations.service import CompilationService
from engines.base import SearchBackend
from gongkai.audit import AuditLog


def _create(service: CompilationService, **fields: object) -> int:
    spec = CompilationCreate.model_validate(
        {"title": "低保政策汇编", "query": {"q": "低保"}, **fields}
    )
    return service.create("lin", spec).id


def test_create_then_read_back_everything_stored(service: CompilationService) -> None:
    cid = _create(
        service,
        description="最低生活保障文件",
        query={"q": "最低生活保障", "filters": {"validity": ["有效"]}, "year_from": 2020},
        sections=["标准", "审核"],
    )
    got = service.get(cid)
    assert got.title == "低保政策汇编"
    assert got.query == StandingQuery(
        q="最低生活保障", filters={"validity": ["有效"]}, year_from=2020
    )
    assert got.sections == ["标准", "审核"]
    assert got.status == "draft" and got.version == 1
    assert got.created_by == got.updated_by == "lin"
    assert [s.id for s in service.list_compilations()] == [cid]
    assert service.list_public() == []


def test_documents_sections_notes_and_order(service: CompilationService) -> None:
    cid = _create(service, sections=["标准", "审核"])
    service.add_documents(cid, "lin", ["sample-020", "sample-021"], section="标准")
    service.add_documents(cid, "lin", ["sample-025"])
    service.add_documents(cid, "lin", ["sample-022"], section="审核", note="现行")
    service.move_document(cid, "lin", "sample-021", position=0)
    service.set_note(cid, "wang", "sample-020", "2023年标准")
    got = service.get(cid)
    # Unsectioned first, then 标准, then 审核; positions within.
    assert [(e.doc_id, e.section) for e in got.documents] == [
        ("sample-025", None),
        ("sample-021", "标准"),
        ("sample-020", "标准"),
        ("sample-022", "审核"),
    ]
    assert got.documents[2].note == "2023年标准"
    assert got.documents[1].title == "关于调整2024年低保标准和特困人员基本生活标准的通知"
    assert service.documents(cid) == [
        ("sample-025", None, "", False),
        ("sample-021", "标准", "", False),
        ("sample-020", "标准", "2023年标准", False),
        ("sample-022", "审核", "现行", False),
    ]
    service.rename_section(cid, "lin", "审核", "审核确认")
    service.remove_section(cid, "lin", "标准")
    after = service.get(cid)
    assert after.sections == ["审核确认"]
    assert {e.doc_id: e.section for e in after.documents}["sample-022"] == "审核确认"
    assert {e.doc_id: e.section for e in after.documents}["sample-020"] is None
    with pytest.raises(EntryNotFound):
        service.add_documents(cid, "lin", ["sample-024"], section="没有这一节")


def test_positions_are_places_in_the_reading_order(service: CompilationService) -> None:
    cid = _create(service, sections=["标准"])
    service.add_documents(cid, "lin", ["sample-020", "sample-021"], section="标准")
    service.add_documents(cid, "lin", ["sample-025"])  # unsectioned: read first
    assert [e.doc_id for e in service.get(cid).documents] == [
        "sample-025",
        "sample-020",
        "sample-021",
    ]
    moved = service.move_document(cid, "lin", "sample-021", position=1)
    assert [(e.doc_id, e.position) for e in moved.documents] == [
        ("sample-025", 0),
        ("sample-021", 1),
        ("sample-020", 2),
    ]


def test_every_change_is_a_version_with_author(service: CompilationService) -> None:
    cid = _create(service)
    service.add_documents(cid, "lin", ["sample-020"])
    service.set_note(cid, "wang", "sample-020", "要点")
    history = service.history(cid)
    assert [v.version for v in history] == [3, 2, 1]
    assert [v.author for v in history] == ["wang", "lin", "lin"]
    assert history[-1].action == "create"
    assert "add 1 document" in history[1].action
    assert service.get(cid).version == 3


def test_order_rule_validity_then_date(service: CompilationService) -> None:
    cid = _create(service)
    ids = ["sample-023", "sample-020", "sample-022", "sample-021"]
    service.add_documents(cid, "lin", ids)
    got = service.apply_order(cid, "lin", "validity_then_date")
    # In force first (newest first among them), the repealed 023 last.
    assert [e.doc_id for e in got.documents] == [
        "sample-021",
        "sample-020",
        "sample-022",
        "sample-023",
    ]
    assert got.order_rule == "validity_then_date"
    # A later addition is placed by the rule.
    placed = service.add_documents(cid, "lin", ["sample-025"])
    assert [e.doc_id for e in placed.documents].index("sample-025") == 1


def test_second_of_two_editors_gets_a_conflict_and_nothing_is_lost(
    service: CompilationService,
) -> None:
    cid = _create(service)
    read_by_a = service.get(cid).version
    read_by_b = service.get(cid).version
    service.update(cid, "a", CompilationUpdate(title="低保文件汇编（甲）"), read_by_a)
    with pytest.raises(VersionConflict) as conflict:
        service.update(cid, "b", CompilationUpdate(description="乙的说明"), read_by_b)
    assert conflict.value.current == read_by_a + 1
    kept = service.get(cid)
    assert kept.title == "低保文件汇编（甲）" and kept.description == ""
    # B re-reads and applies the change again.
    service.update(cid, "b", CompilationUpdate(description="乙的说明"), kept.version)
    final = service.get(cid)
    assert (final.title, final.description) == ("低保文件汇编（甲）", "乙的说明")
    with pytest.raises(VersionConflict):
        service.add_documents(cid, "b", ["sample-020"], expected_version=read_by_b)


def test_simultaneous_writers_exactly_one_wins(service: CompilationService) -> None:
    cid = _create(service)
    version = service.version(cid)
    outcomes: list[str] = []
    lock = threading.Lock()

    def edit(n: int) -> None:
        try:
            service.add_documents(
                cid, f"editor{n}", [f"sample-0{20 + n}"], expected_version=version
            )
            result = "ok"
        except VersionConflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
    got = service.get(cid)
    assert got.version == version + 1 and len(got.documents) == 1


def test_deleted_document_is_kept_and_marked_missing(
    service: CompilationService, search_backend: SearchBackend
) -> None:
    cid = _create(service)
    service.add_documents(cid, "lin", ["sample-020", "sample-022"])
    search_backend.delete(["sample-022"])
    search_backend.refresh()
    got = service.get(cid)
    assert [(e.doc_id, e.missing) for e in got.documents] == [
        ("sample-020", False),
        ("sample-022", True),
    ]
    assert got.documents[1].title == "示例市最低生活保障审核确认办法"
    assert service.documents(cid)[1].missing


def test_snapshot_and_restore_bring_back_an_old_version_as_a_new_one(
    service: CompilationService,
) -> None:
    cid = _create(service)
    service.add_documents(cid, "lin", ["sample-020", "sample-021"])
    shot = service.snapshot(cid, "lin", "2024年版")
    assert shot.version == 2 and shot.snapshot == "2024年版"
    service.remove_document(cid, "lin", "sample-020", exclude=True)
    service.update(cid, "lin", CompilationUpdate(title="改名"))
    restored = service.restore(cid, "wang", snapshot="2024年版")
    assert [e.doc_id for e in restored.documents] == ["sample-020", "sample-021"]
    assert restored.title == "低保政策汇编" and restored.excludes == []
    assert restored.version == 5
    history = service.history(cid)
    assert [v.version for v in history] == [5, 4, 3, 2, 1]  # nothing in between lost
    assert history[0].action == "restore version 2 (2024年版)"
    again = service.restore(cid, "wang", 4)
    assert again.title == "改名" and [e.doc_id for e in again.documents] == ["sample-021"]
    with pytest.raises(VersionNotFound):
        service.restore(cid, "wang", 99)
    with pytest.raises(InvalidChange):
        service.snapshot(cid, "lin", "2024年版")


def test_overlong_names_are_refused_before_the_database(service: CompilationService) -> None:
    cid = _create(service)
    with pytest.raises(InvalidChange):
        service.add_documents(cid, "lin", ["x" * 201])
    with pytest.raises(InvalidChange):
        service.add_section(cid, "lin", "节" * 201)
    with pytest.raises(InvalidChange):
        service.set_note(cid, "名" * 201, "sample-020", "")
    assert service.version(cid) == 1


def test_unknown_compilation_is_not_found(service: CompilationService) -> None:
    with pytest.raises(CompilationNotFound):
        service.get(404)
    with pytest.raises(CompilationNotFound):
        service.add_documents(404, "lin", ["sample-020"])
    with pytest.raises(CompilationNotFound):
        service.history(404)
    with pytest.raises(CompilationNotFound):
        service.delete(404, "lin")


def test_delete_removes_it_and_every_write_is_audited(service: CompilationService) -> None:
    cid = _create(service)
    service.add_documents(cid, "lin", ["sample-020"])
    service.delete(cid, "admin")
    with pytest.raises(CompilationNotFound):
        service.get(cid)
    engine: Engine = service.engine
    entries = AuditLog(engine).entries(target=f"compilation:{cid}")
    assert [(e.actor, e.action) for e in reversed(entries)] == [
        ("lin", "compilation.create"),
        ("lin", "compilation.update"),
        ("admin", "compilation.delete"),
    ]
    assert entries[0].before == {"version": 2, "title": "低保政策汇编"}
