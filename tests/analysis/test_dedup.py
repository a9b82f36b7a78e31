"""Tests for ``analysis.dedup``: exact and near duplicates, canonical choice, versions of an
act kept apart, persistence, and reprints made from real documents."""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import native
from analysis.dedup import (
    MAX_PRESIGNED,
    MIN_TEXT,
    NEXT_SEQ_SQL,
    DuplicateFilter,
    DuplicateVerdict,
    ExactDuplicateFilter,
    MinHashSigner,
    NearDuplicateFinder,
    NullDuplicateFilter,
    fingerprint_text,
    shingle_hashes,
)
from analysis.tokenizer import normalise
from gongkai.document import Document

TEXT = (
    "各区人民政府，市政府各委、办、局：\n"
    "为进一步做好城乡居民最低生活保障工作，切实保障困难群众基本生活，经市政府同意，现就有关事项通知如下。\n"
    "一、提高保障标准。自2024年7月1日起，本市城乡居民最低生活保障标准由每人每月1395元调整为每人每月1450元。\n"
    "二、规范审核确认。各区民政部门要严格执行家庭经济状况核对制度，对申请对象的收入和财产情况进行全面核查，"
    "做到应保尽保、应退尽退。\n"
    "三、加强资金管理。各区财政部门要足额安排保障资金，专款专用，任何单位和个人不得挤占、挪用。\n"
    "四、强化监督检查。市民政局会同市财政局定期开展专项检查，发现问题及时督促整改，并向社会公开检查结果。\n"
    "本通知自印发之日起施行。"
)
OTHER = (
    "各有关单位：\n为加强本市道路交通安全管理，预防和减少交通事故，保护人身安全，根据有关法律法规，"
    "结合本市实际，现将机动车限行管理有关事项通告如下。一、限行时间为工作日早七时至晚八时。"
    "二、限行范围为五环路以内道路。三、违反规定的，由公安机关交通管理部门依法处罚。"
)


def doc(
    doc_id: str, body: str, title: str = "关于调整最低生活保障标准的通知", **fields: object
) -> Document:
    return Document(id=doc_id, title=title, body=body, **fields)  # type: ignore[arg-type]


def reprint(body: str) -> str:
    """The same article as another site shows it: chrome lines, other spacing, a header."""
    spaced = body.replace("，", "， ").replace("\n", "\n\n　　")
    return (
        "当前位置：首页 > 政务公开 > 通知公告\n"
        "【字号：大 中 小】 【打印本页】 【关闭窗口】\n"
        "来源：市民政局　发布时间：2024-06-20　浏览次数：1024\n"
        f"{spaced}\n"
        "分享到：微信 微博\n"
    )


def test_implementations_keep_the_protocol(tmp_path: Path) -> None:
    for item in (NullDuplicateFilter(), ExactDuplicateFilter(), NearDuplicateFinder()):
        assert isinstance(item, DuplicateFilter)
        item.close()


def test_null_filter_finds_nothing() -> None:
    null = NullDuplicateFilter()
    null.add(doc("a", TEXT))
    assert null.check(doc("b", TEXT)) == DuplicateVerdict(kind="new")


@pytest.mark.parametrize("make", [ExactDuplicateFilter, NearDuplicateFinder])
def test_exact_duplicates_first_seen_is_canonical(make: type[ExactDuplicateFilter]) -> None:
    dedup = make()
    assert dedup.add(doc("a", TEXT)).kind == "new"
    assert dedup.add(doc("b", TEXT)) == DuplicateVerdict(
        kind="exact", canonical_id="a", similarity=1.0
    )
    assert dedup.add(doc("c", TEXT)).canonical_id == "a"
    # The canonical document added again is an update, not a duplicate of its copies...
    assert dedup.check(doc("a", TEXT)).kind == "new"
    assert dedup.add(doc("a", TEXT)).kind == "new"
    # ... and a copy added again is still a copy.
    assert dedup.add(doc("b", TEXT)).canonical_id == "a"
    assert make().check(doc("a", TEXT)).kind == "new"


def test_exact_filter_ignores_reprints() -> None:
    exact = ExactDuplicateFilter()
    exact.add(doc("a", TEXT))
    assert exact.check(doc("b", reprint(TEXT))).kind == "new"


def test_reprints_are_near_duplicates_of_the_first_seen() -> None:
    finder = NearDuplicateFinder()
    finder.add(doc("gov", TEXT))
    finder.add(doc("other", OTHER, title="关于机动车限行的通告"))
    verdict = finder.add(doc("district-site", reprint(TEXT)))
    assert verdict.kind == "near" and verdict.canonical_id == "gov"
    assert verdict.similarity > 0.95  # chrome lines are dropped, spacing does not count
    # A reprint of the reprint still lands on the first one seen.
    third = finder.add(doc("portal", "转载\n" + reprint(TEXT) + "\n（责任编辑：张三）"))
    assert third.canonical_id == "gov"
    assert finder.members("gov") == ["gov", "district-site", "portal"]
    assert finder.check(doc("x", OTHER + "。")).canonical_id == "other"


def test_a_different_document_is_new() -> None:
    finder = NearDuplicateFinder()
    finder.add(doc("a", TEXT))
    verdict = finder.check(doc("b", OTHER, title="关于机动车限行的通告"))
    assert verdict.kind == "new" and verdict.canonical_id is None
    assert verdict.similarity < 0.5


def test_metadata_keeps_other_documents_apart() -> None:
    finder = NearDuplicateFinder()
    finder.add(doc("2023", TEXT, doc_number="京民发〔2023〕5号", date_published=date(2023, 6, 1)))
    # The same text under another number: another document (a re-issue), not a reprint.
    renumbered = finder.check(doc("x", TEXT + "\n附件", doc_number="京民发[2024] 9号"))
    assert renumbered.kind == "new" and renumbered.similarity > 0.9
    # A year apart: another version. Within a month: a reprint.
    later = finder.check(doc("y", reprint(TEXT), date_published=date(2024, 6, 20)))
    assert later.kind == "new"
    soon = finder.check(doc("z", reprint(TEXT), date_published=date(2023, 6, 3)))
    assert soon.kind == "near"
    # The same number in another bracket style is the same number.
    same = finder.check(doc("w", reprint(TEXT), doc_number="京民发[2023]5号"))
    assert same.kind == "near"


def test_short_and_empty_documents() -> None:
    finder = NearDuplicateFinder()
    assert finder.add(doc("e1", "", title="")).kind == "new"
    assert finder.add(doc("e2", "", title="")).kind == "exact"  # same (empty) content
    finder.add(doc("s1", "请假条。", title="关于春节放假的通知"))
    # Short bodies are compared with their titles: another title, another document.
    assert finder.check(doc("s2", "请假条。", title="关于国庆放假的通知")).kind == "new"


def test_persisted_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "dedup" / "near.sqlite"
    finder = NearDuplicateFinder(path)
    finder.add(doc("a", TEXT))
    finder.close()
    reopened = NearDuplicateFinder(path)
    assert len(reopened) == 1
    assert reopened.check(doc("b", reprint(TEXT))).canonical_id == "a"
    reopened.close()
    # Other signature settings cannot compare with stored ones: the store starts again.
    other = NearDuplicateFinder(path, num_perm=64)
    assert len(other) == 0
    other.close()
    exact_path = tmp_path / "exact.sqlite"
    exact = ExactDuplicateFilter(exact_path)
    exact.add(doc("a", TEXT))
    exact.close()
    assert ExactDuplicateFilter(exact_path).check(doc("b", TEXT)).canonical_id == "a"


@pytest.mark.parametrize("title", ["关于调整最低生活保障标准的通知", "短"])
def test_fingerprint_text_is_the_same_with_and_without_chrome_lines_to_drop(title: str) -> None:
    # Bodies with no chrome word skip the per-line pass: every kind of line break, a line
    # that only chrome would drop, and full-width letters give what the per-line pass gives.
    breaks = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    body = "".join(f"第{i}条　ＡＢ_c，保障{sep}" for i, sep in enumerate(breaks * 3)) + "\r\n完"
    per_line = re.sub(r"[\W_]+", "", normalise("".join(body.splitlines())))
    if len(per_line) < MIN_TEXT:
        per_line = re.sub(r"[\W_]+", "", normalise(title)) + per_line
    assert fingerprint_text(doc("a", body, title=title)) == per_line
    assert fingerprint_text(doc("a", body[:4], title=title)).startswith(
        re.sub(r"[\W_]+", "", normalise(title))
    )
    # One chrome line among them: dropped, the rest as before.
    assert fingerprint_text(doc("b", "打印本页\n" + body, title=title)) == per_line


def test_presigned_signatures_are_bounded_and_the_oldest_go_first() -> None:
    finder = NearDuplicateFinder()
    docs = [doc(str(n), f"{TEXT}{n}") for n in range(MAX_PRESIGNED + 5)]
    marked = np.zeros(finder.num_perm, dtype="<u4")
    for item in docs:
        finder.remember_signature(item, marked)
    assert len(finder._presigned) == MAX_PRESIGNED
    # The newest are kept (the ones an ingest is about to check) ...
    assert finder.signature(docs[-1]) is marked
    assert finder.signature(docs[5]) is marked
    # ... the oldest were let go, and are signed afresh.
    assert np.array_equal(finder.signature(docs[4]), finder.signer.sign(docs[4]))


def test_fingerprint_text_and_shingles() -> None:
    assert fingerprint_text(doc("a", reprint(TEXT))) == fingerprint_text(doc("b", TEXT))
    hashes = shingle_hashes("一二三四五六")
    assert len(hashes) == 2  # 一二三四五, 二三四五六
    assert len(shingle_hashes("短")) == 1 and len(shingle_hashes("")) == 0
    assert list(shingle_hashes("ABCDEFG")) == list(shingle_hashes("ABCDEFG"))


# --- real data ----------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_reprints_grouped(lawrefbook: list[Document]) -> None:
    rng = random.Random(7)
    originals = rng.sample([d for d in lawrefbook if len(d.body) > 300], 40)
    finder = NearDuplicateFinder()
    for original in lawrefbook:
        finder.add(original)
    for original in originals:
        copy = original.model_copy(
            update={
                "id": original.id + "-reprint",
                "body": reprint(original.body),
                "url": "https://example.gov.cn/reprint",
                "content_hash": "",
            }
        )
        copy = Document.model_validate(copy.model_dump())  # recompute the content hash
        verdict = finder.check(copy)
        assert verdict.kind == "near", original.title
        # The first-seen document of its group (lawrefbook holds a few duplicate records).
        assert verdict.canonical_id in finder.members(verdict.canonical_id or "")
        assert original.id in finder.members(verdict.canonical_id or "")


@pytest.mark.realdata
def test_real_versions_are_not_merged(lawrefbook: list[Document]) -> None:
    pesticide = sorted(
        (d for d in lawrefbook if d.title == "农药管理条例"), key=lambda d: str(d.date_published)
    )
    older, newer = pesticide
    finder = NearDuplicateFinder()
    finder.add(older)
    verdict = finder.check(newer)
    # 2017 and 2022 texts differ by a few words (estimated Jaccard ~0.99), but their dates
    # say they are two versions.
    assert verdict.kind == "new"
    assert verdict.similarity > 0.9
    assert ExactDuplicateFilter().check(newer).kind == "new"
    undated = newer.model_copy(update={"date_published": None})
    assert finder.check(undated).kind != "exact"  # at most near, never exact


def test_next_sequence_number_is_read_from_an_index(tmp_path: Path) -> None:
    # A table scan per new document made a long ingest quadratic in the documents seen.
    finder = NearDuplicateFinder(tmp_path / "dedup.sqlite")
    plan = finder._db.execute("EXPLAIN QUERY PLAN " + NEXT_SEQ_SQL).fetchall()
    finder.close()
    # The index on seq alone: with only (content_hash, seq), SQLite reads the whole index.
    assert any("sigs_seq" in str(step) for step in plan), plan


_TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    [TEXT, "", "短", "标题"]
)


@pytest.mark.skipif(not native.AVAILABLE, reason="no native extension (pip install ./native)")
@settings(max_examples=300)
@given(_TEXTS)
def test_native_signatures_are_the_python_ones(body: str) -> None:
    doc = Document(id="d", title="标题", body=body)
    native_signer, python_signer = MinHashSigner(), MinHashSigner(use_native=False)
    assert native_signer._native is not None and python_signer._native is None
    assert native_signer.sign(doc).tolist() == python_signer.sign(doc).tolist()


def test_text_that_cannot_cross_is_signed_in_python() -> None:
    # A Document refuses a lone surrogate when validated; a copy is not validated again.
    doc = Document(id="d", title="标题", body=TEXT).model_copy(update={"body": TEXT + "\ud800"})
    assert MinHashSigner().sign(doc).tolist() == MinHashSigner(use_native=False).sign(doc).tolist()


def test_band_index_gives_datasketchs_candidates() -> None:
    # Random signatures and near copies of them (a few values changed): the band index in
    # SQLite must propose exactly what datasketch's in-memory MinHashLSH proposes.
    rng = np.random.default_rng(7)
    finder = NearDuplicateFinder()
    reference = MinHashLSH(threshold=finder.threshold, num_perm=finder.num_perm)
    template = finder.signer.template
    signatures: dict[str, np.ndarray] = {}
    for i in range(300):
        sig = rng.integers(0, 2**32, finder.num_perm, dtype=np.uint64).astype("<u4")
        if i % 3 and i > 0:  # a near copy of an earlier one
            sig = signatures[f"d{rng.integers(0, i)}"].copy()
            changed = rng.choice(finder.num_perm, int(rng.integers(1, 60)), replace=False)
            sig[changed] = rng.integers(0, 2**32, len(changed), dtype=np.uint64)
        signatures[f"d{i}"] = sig
    as_minhash = {
        key: MinHash(
            hashvalues=sig.astype(np.uint64),
            scheme=template.scheme,
            permutations=template.permutations,
        )
        for key, sig in signatures.items()
    }
    for key, sig in signatures.items():
        finder._bands.insert(key, sig)
        reference.insert(key, as_minhash[key])
    found = 0
    for key, sig in signatures.items():
        expected = set(reference.query(as_minhash[key]))
        assert finder._bands.query(sig) == expected
        found += len(expected) > 1
    assert found > 50  # near copies were found, not only each signature itself
    finder.close()


def test_a_file_without_the_band_index_is_indexed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "dedup.sqlite"
    finder = NearDuplicateFinder(path)
    finder.add(doc("a", TEXT))
    # As a file written before the band index: signatures only.
    finder._db.execute("DELETE FROM bands")
    finder._db.execute("DELETE FROM meta WHERE key = 'bands'")
    finder.close()
    reopened = NearDuplicateFinder(path)
    assert reopened.check(doc("b", reprint(TEXT))).canonical_id == "a"
    reopened.close()
