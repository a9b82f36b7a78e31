"""Tests for ``analysis.lineage``: references resolved to documents, versions of an act,
validity implied by other documents, persistence, and bad input (self-abolition, cycles)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from analysis.lineage import LineageGraph, LineageRecord, RefRecord, is_act_title
from gongkai.document import Document, Validity


def rec(
    doc_id: str,
    title: str,
    day: date | None = None,
    refs: tuple[RefRecord, ...] = (),
    numbers: tuple[str, ...] = (),
    **fields: object,
) -> LineageRecord:
    return LineageRecord(
        id=doc_id,
        title=title,
        date=day,
        references=refs,
        doc_numbers=numbers,
        **fields,  # type: ignore[arg-type]
    )


def cite(title: str | None = None, number: str | None = None) -> RefRecord:
    return RefRecord("cites", title, number)


# A small corpus: three versions of an act, a notice citing it by number, a decision amending
# it, a new act abolishing an old one.
CORPUS = [
    rec("pest-1997", "农药管理条例", date(1997, 5, 8), numbers=("国务院令第216号",)),
    rec("pest-2017", "农药管理条例", date(2017, 3, 16), numbers=("中华人民共和国国务院令第677号",)),
    rec("pest-2022", "中华人民共和国农药管理条例", date(2022, 3, 29)),
    rec(
        "decision-2022",
        "国务院关于修改和废止部分行政法规的决定",
        date(2022, 3, 29),
        (RefRecord("amends", "农药管理条例"), RefRecord("abolishes", "旧规定")),
    ),
    rec("old-rule", "旧规定", date(2000, 1, 1), validity="有效", validity_evidence="field: 有效"),
    rec(
        "notice-2019",
        "关于做好农药管理工作的通知",
        date(2019, 6, 1),
        (
            cite("农药管理条例（2017年修订）"),
            cite(None, "国务院令 第677号"),
            cite("不在索引里的办法", "京政发〔2019〕1号"),
        ),
    ),
    rec("notice-1990", "关于X的通知", date(1990, 1, 1), (cite("《农药管理条例》"),)),
]


@pytest.fixture
def graph() -> LineageGraph:
    return LineageGraph.build(CORPUS)


def test_versions_of_an_act_ordered_by_date(graph: LineageGraph) -> None:
    chain = [v.id for v in graph.amendment_chain("pest-2017")]
    # 中华人民共和国 prefix or not, it is one act.
    assert chain == ["pest-1997", "pest-2017", "pest-2022"]
    assert [v.id for v in graph.amendment_chain("notice-2019")] == ["notice-2019"]
    assert graph.amendment_chain("unknown-id") == []


def test_citation_resolves_to_the_newest_version_before_the_citing_document(
    graph: LineageGraph,
) -> None:
    links = graph.cites("notice-2019")
    assert [(link.target_id, link.match, link.unresolved) for link in links] == [
        ("pest-2017", "title", None),  # (2017年修订) note off; 2017 is the newest before 2019
        ("pest-2017", "doc_number", None),  # 国务院令 第677号 = 中华人民共和国国务院令第677号
        (None, None, "not_found"),  # kept, not dropped
    ]
    assert links[2].title == "不在索引里的办法" and links[2].doc_number == "京政发〔2019〕1号"


def test_citation_older_than_every_version_goes_to_the_oldest(graph: LineageGraph) -> None:
    assert [link.target_id for link in graph.cites("notice-1990")] == ["pest-1997"]


def test_amendment_targets_the_version_before_the_decision_not_the_same_day(
    graph: LineageGraph,
) -> None:
    # The decision of 2022-03-29 produced pest-2022 the same day: it amended pest-2017.
    targets = {link.kind: link.target_id for link in graph.cites("decision-2022")}
    assert targets == {"amends": "pest-2017", "abolishes": "old-rule"}


def test_cited_by(graph: LineageGraph) -> None:
    sources = Counter(link.source_id for link in graph.cited_by("pest-2017"))
    assert sources == {"notice-2019": 2, "decision-2022": 1}
    assert graph.cited_by("pest-2022") == []


def test_validity_updates(graph: LineageGraph) -> None:
    updates = graph.validity_updates()
    assert updates == {
        "old-rule": Validity(status="废止", evidence="decision-2022"),
        "pest-2017": Validity(status="已修改", evidence="decision-2022"),
        "pest-1997": Validity(status="已修改", evidence="pest-2017"),
    }


def test_validity_never_lowered_and_field_in_force_holds_against_inference() -> None:
    graph = LineageGraph.build(
        [
            rec(
                "a-1", "甲条例", date(2001, 1, 1), validity="失效", validity_evidence="field: 失效"
            ),
            rec(
                "a-2", "甲条例", date(2005, 1, 1), validity="有效", validity_evidence="field: 有效"
            ),
            rec("a-3", "甲条例", date(2010, 1, 1)),
            rec(
                "b-1",
                "乙办法",
                date(2001, 1, 1),
                validity="有效",
                validity_evidence="本办法自…施行",
            ),
            rec("b-2", "乙办法", date(2011, 1, 1)),
        ]
    )
    # a-1: the source's 失效 stays; a-2: a page field says 有效 and a newer version is only an
    # inference; b-1: 有效 came from its own text, which predates the newer version.
    assert graph.validity_updates() == {"b-1": Validity(status="已修改", evidence="b-2")}
    assert graph.validity_updates(source_wins=False) == {
        "a-2": Validity(status="已修改", evidence="a-3"),
        "b-1": Validity(status="已修改", evidence="b-2"),
    }


def test_a_document_that_abolishes_itself() -> None:
    graph = LineageGraph.build(
        [rec("x", "某某办法", date(2020, 1, 1), (RefRecord("abolishes", "某某办法"),))]
    )
    (link,) = graph.cites("x")
    assert link.target_id is None and link.unresolved == "self"
    assert graph.cited_by("x") == []
    assert graph.validity_updates() == {}
    assert graph.replaced_by("x") == []


def test_a_cycle_of_amendments_terminates() -> None:
    # Undated, so the date rule cannot break the cycle: A amends B, B amends A.
    graph = LineageGraph.build(
        [
            rec("a", "甲规定", None, (RefRecord("amends", "乙规定"),)),
            rec("b", "乙规定", None, (RefRecord("amends", "甲规定"),)),
        ]
    )
    assert graph.cites("a")[0].target_id == "b" and graph.cites("b")[0].target_id == "a"
    assert graph.validity_updates() == {
        "a": Validity(status="已修改", evidence="b"),
        "b": Validity(status="已修改", evidence="a"),
    }
    lineage = graph.lineage("a")
    assert lineage is not None
    assert lineage.replaced_by == []


def test_a_cycle_of_abolitions_stops_the_walk() -> None:
    graph = LineageGraph.build(
        [
            rec("a", "甲规定", None, (RefRecord("abolishes", "乙规定"),)),
            rec("b", "乙规定", None, (RefRecord("abolishes", "丙规定"),)),
            rec("c", "丙规定", None, (RefRecord("abolishes", "甲规定"),)),
        ]
    )
    assert graph.replaced_by("a") == ["c", "b"]  # c abolished a, b abolished c; b -> a: seen
    assert set(graph.validity_updates()) == {"a", "b", "c"}


def test_abolition_never_targets_a_later_version() -> None:
    graph = LineageGraph.build(
        [
            rec("new", "丙条例", date(2020, 1, 1)),
            rec("repealer", "丁条例", date(2010, 1, 1), (RefRecord("abolishes", "丙条例"),)),
        ]
    )
    (link,) = graph.cites("repealer")
    assert link.target_id is None and link.unresolved == "later_only"


def test_same_titled_notices_are_ambiguous_not_versions() -> None:
    title = "关于做好春节期间有关工作的通知"
    assert not is_act_title(title) and is_act_title("农药管理条例") and is_act_title("解释(二)")
    graph = LineageGraph.build(
        [
            rec("n1", title, date(2020, 1, 1)),
            rec("n2", title, date(2021, 1, 1)),
            rec("c", "某通知", date(2022, 1, 1), (cite(title),)),
        ]
    )
    assert graph.cites("c")[0].unresolved == "ambiguous"
    assert [v.id for v in graph.amendment_chain("n1")] == ["n1"]
    assert graph.validity_updates() == {}


def test_parts_of_one_act_are_not_versions() -> None:
    graph = LineageGraph.build(
        [
            rec("p1", "中华人民共和国民法典", None, variant="总则"),
            rec("p2", "中华人民共和国民法典", None, variant="物权编"),
            rec("c", "某解释", date(2022, 1, 1), (cite("中华人民共和国民法典"),)),
        ]
    )
    assert [v.id for v in graph.amendment_chain("p1")] == ["p1"]
    assert graph.cites("c")[0].unresolved == "ambiguous"


def test_persisted_and_reopened(tmp_path: Path) -> None:
    path = tmp_path / "lineage" / "graph.sqlite"
    with LineageGraph.build(CORPUS, path) as graph:
        expected = graph.lineage("pest-2017")
    with LineageGraph(path) as reopened:
        assert reopened.lineage("pest-2017") == expected
        assert len(reopened) == len(CORPUS)


def test_adding_again_replaces_and_removing_unlinks(graph: LineageGraph) -> None:
    graph.add([rec("notice-2019", "关于做好农药管理工作的通知", date(2019, 6, 1))])
    assert graph.cites("notice-2019") == []
    graph.remove(["decision-2022"])
    assert "decision-2022" not in graph
    assert "old-rule" not in graph.validity_updates()


def test_lineage_view_and_resolved_references(graph: LineageGraph) -> None:
    lineage = graph.lineage("pest-1997")
    assert lineage is not None
    assert [v.id for v in lineage.versions] == ["pest-1997", "pest-2017", "pest-2022"]
    assert lineage.replaced_by == ["pest-2017", "pest-2022"]
    assert [link.source_id for link in lineage.cited_by] == ["notice-1990"]
    assert graph.lineage("nope") is None
    refs = graph.resolved_references("notice-2019")
    assert [r.target_id for r in refs] == ["pest-2017", "pest-2017", None]
    assert graph.stats()["multi_version_acts"] == 1


def test_records_from_documents() -> None:
    doc = Document(
        id="d",
        title="某某规定",
        body="某某规定\n\n法释〔2022〕18号\n\n根据《中华人民共和国民法典》，制定本规定。",
        info=["2022年8月16日 最高人民法院审判委员会第1872次会议通过", "2023年1月1日 施行"],
        subtitle="总则",
        validity="expired",
    )
    record = LineageRecord.from_document(doc)
    # After the references stage an empty list means none were found: not looked for again.
    assert LineageRecord.from_document(doc, references_known=True).references == ()
    assert record.doc_numbers == ("法释〔2022〕18号",)
    assert record.date == date(2022, 8, 16)  # the latest info line that is not 施行
    assert record.references == (RefRecord("cites", "中华人民共和国民法典", None),)
    assert record.variant == "总则"
    assert (record.validity, record.validity_evidence) == ("失效", "field: expired")
    numbered = Document(
        id="e",
        title="农药管理条例",
        body="",
        doc_number="国发〔2001〕1号",
        info=["1997年5月8日 中华人民共和国国务院令第216号发布", "劳社部发[2008]3号"],
        version_date="2017-03-16",
    )
    record = LineageRecord.from_document(numbered)
    assert record.doc_numbers == (
        "国发〔2001〕1号",
        "中华人民共和国国务院令第216号",
        "劳社部发[2008]3号",
    )
    assert record.date == date(2017, 3, 16)


def test_empty_graph() -> None:
    graph = LineageGraph()
    assert len(graph) == 0
    assert graph.validity_updates() == {}
    assert graph.stats()["documents"] == 0


# --- real data ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_graph(
    lawrefbook: list[Document], tmp_path_factory: pytest.TempPathFactory
) -> LineageGraph:
    started = time.perf_counter()
    graph = LineageGraph.build(lawrefbook, tmp_path_factory.mktemp("lineage") / "g.sqlite")
    # Reference extraction is most of it (~2 s here); minutes would be a regression.
    assert time.perf_counter() - started < 60
    return graph


@pytest.mark.realdata
def test_real_versions_of_acts(real_graph: LineageGraph, lawrefbook: list[Document]) -> None:
    stats = real_graph.stats()
    assert stats["documents"] == len(lawrefbook)
    assert stats["multi_version_acts"] >= 55  # 62 on the dev file
    pesticide = sorted(
        (d for d in lawrefbook if d.title == "农药管理条例"), key=lambda d: str(d.date_published)
    )
    assert [d.date_published for d in pesticide] == [date(2017, 3, 16), date(2022, 3, 29)]
    chain = real_graph.amendment_chain(pesticide[1].id)
    assert [v.id for v in chain] == [d.id for d in pesticide]
    # The source already says the 2017 version expired: nothing to add.
    assert pesticide[0].validity.status == "失效"
    assert pesticide[0].id not in real_graph.validity_updates(source_wins=False)
    # 2018 version of 经营者集中申报标准 is "in force" per source, superseded in 2024.
    merger = sorted(
        (d for d in lawrefbook if d.title == "国务院关于经营者集中申报标准的规定"),
        key=lambda d: str(d.date_published),
    )
    assert real_graph.validity_updates().get(merger[0].id) is None  # the field wins
    assert real_graph.validity_updates(source_wins=False)[merger[0].id] == Validity(
        status="已修改", evidence=merger[1].id
    )


@pytest.mark.realdata
def test_real_abolitions_and_expired(real_graph: LineageGraph, lawrefbook: list[Document]) -> None:
    by_id = {d.id: d for d in lawrefbook}
    market = next(d for d in lawrefbook if d.title == "中华人民共和国市场主体登记管理条例")
    abolished = {
        by_id[link.target_id].title
        for link in real_graph.cites(market.id)
        if link.kind == "abolishes" and link.target_id
    }
    assert abolished == {"中华人民共和国企业法人登记管理条例", "中华人民共和国合伙企业登记管理办法"}
    updates = real_graph.validity_updates(source_wins=False)
    assert all(v.evidence in by_id and v.evidence != k for k, v in updates.items())
    resolved = 0
    for doc in lawrefbook:
        for link in real_graph.cites(doc.id):
            assert link.target_id != doc.id
            if link.target_id is None:
                assert link.unresolved is not None
                continue
            resolved += 1
            target = by_id[link.target_id]
            if (
                link.kind in ("abolishes", "amends")
                and doc.date_published
                and target.date_published
            ):
                assert target.date_published < doc.date_published
    assert resolved > 1400
    # Expired acts the graph can explain: a newer version of the same act, or an abolition.
    expired = [d.id for d in lawrefbook if d.validity.status == "失效"]
    explained = [
        i for i in expired if real_graph.replaced_by(i) or len(real_graph.amendment_chain(i)) > 1
    ]
    assert len(explained) >= 25  # 28 of 66 on the dev file; the rest are repealed by
    # documents that are not in it
