"""Tests for ``analysis.native``: the native analyser (``native/``, ``gongkai_native``) gives
exactly the pure-Python path's output, field by field, on real documents and hostile text.

The Python path (``GovTokenizer(use_native=False)``) is the reference. ``scripts/test.sh``
always builds the extension, so with ``CI`` set a missing ``gongkai_native`` fails this module
instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import native
from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer, normalise

if not native.AVAILABLE:
    if os.environ.get("CI"):
        pytest.fail(
            "gongkai_native is not installed although CI is set: scripts/test.sh builds it "
            "(.venv/bin/pip install ./native)",
            pytrace=False,
        )
    pytest.skip(
        "gongkai_native is not built here (.venv/bin/pip install ./native); "
        "the pure-Python path is in use",
        allow_module_level=True,
    )

FIELDS = ("title tokens", "body tokens", "title bigrams", "body bigrams")
Fields = tuple[str, str, str, str]

# User terms as a deployment adds them: full-width letters (normalised before adding), ASCII
# mixed with Han, a hyphen, long terms that contain dictionary words (inner words).
EXTRA_TERMS = (
    "示例市惠民补贴",
    "ａｂｃ补贴",
    "医保ab",
    "covid-19防控",
    "城乡居民基本医疗保险制度",
    "中医药继续教育项目",
    "国务院办公厅关于",
    "各省自治区直辖市",  # in many laws
    "人民政府办公厅",
)
# Stop words with full-width forms, a lone surrogate (it cannot cross into Rust and cannot
# equal a token of text that can), and ordinary ones.
EXTRA_STOP_WORDS = frozenset({"的", "通知", "ＡＢ", "ab", "\ud800", "2021"})


@pytest.fixture(scope="module")
def fast() -> GovTokenizer:
    tokenizer = GovTokenizer()
    assert tokenizer.native is not None
    return tokenizer


@pytest.fixture(scope="module")
def slow() -> GovTokenizer:
    return GovTokenizer(use_native=False)


@pytest.fixture(scope="module")
def fast_extra() -> GovTokenizer:
    return GovTokenizer(extra_terms=EXTRA_TERMS, stop_words=EXTRA_STOP_WORDS)


@pytest.fixture(scope="module")
def slow_extra() -> GovTokenizer:
    return GovTokenizer(extra_terms=EXTRA_TERMS, stop_words=EXTRA_STOP_WORDS, use_native=False)


def first_difference(ours: str, theirs: str) -> str:
    a, b = ours.split(" "), theirs.split(" ")
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"token {i}: native {a[i : i + 5]!r} vs Python {b[i : i + 5]!r}"
    return f"lengths differ: native {len(a)} tokens vs Python {len(b)}"


def field_differences(ours: Fields, theirs: Fields) -> list[str]:
    return [
        f"{name}: {first_difference(a, b)}"
        for name, a, b in zip(FIELDS, ours, theirs, strict=True)
        if a != b
    ]


def native_fields(tokenizer: GovTokenizer, title: str, body: str, title_derived: bool) -> Fields:
    """The native call itself, so a silent fallback to the Python path cannot pass."""
    assert tokenizer.native is not None
    fields = tokenizer.native.analyze_text(title, body, title_derived)
    assert fields is not None, "the native analyser declined text without lone surrogates"
    return fields


def assert_same_analysis(
    fast: GovTokenizer, slow: GovTokenizer, title: str, body: str, title_derived: bool
) -> None:
    ours = native_fields(fast, title, body, title_derived)
    theirs = DocumentAnalyzer(slow).analyze_text(title, body, title_derived)
    assert not field_differences(ours, theirs), field_differences(ours, theirs)
    # The public entry point takes the native path and gives the same.
    assert DocumentAnalyzer(fast).analyze_text(title, body, title_derived) == theirs


def assert_same_tokens(fast: GovTokenizer, slow: GovTokenizer, text: str) -> None:
    normalised = normalise(text)
    assert fast.native is not None
    assert fast.native.token_text(normalised) == slow.token_text(normalised)
    assert fast.native.tokens(normalised) == slow.tokenize_normalised(normalised)
    assert fast.tokenize(text) == slow.tokenize(text)
    assert fast.query_terms(text) == slow.query_terms(text)


# (a) Real documents ---------------------------------------------------------------------


def shared_records(folder: Path, name: str) -> Iterator[dict[str, object]]:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"{name} is missing from the shared data folder {folder}")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def text_of(record: dict[str, object], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def compare_corpus(
    fast: GovTokenizer, slow: GovTokenizer, records: list[dict[str, object]], body_key: str
) -> None:
    mismatches: list[str] = []
    for i, record in enumerate(records):
        title, body = text_of(record, "title"), text_of(record, body_key)
        derived = i % 5 == 0  # both title branches on real text
        ours = native_fields(fast, title, body, derived)
        theirs = DocumentAnalyzer(slow).analyze_text(title, body, derived)
        for difference in field_differences(ours, theirs):
            mismatches.append(f"{record.get('id')}: {difference}")
    assert records
    assert not mismatches, f"{len(mismatches)} fields differ:\n" + "\n".join(mismatches[:10])


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "body_key", "step"),
    [
        ("lawrefbook.dev.jsonl", "text", 1),  # all 1,403 laws, 8 M characters
        ("govdocs_small.dev.jsonl", "text", 1),
        ("govdocs_small.dev.jsonl", "html", 1),  # tags, entities, URLs, scripts
        ("msga_govqa.corpus.jsonl", "text", 3),
    ],
)
def test_native_equals_python_on_real_documents(
    name: str, body_key: str, step: int, shared_data: Path, fast: GovTokenizer, slow: GovTokenizer
) -> None:
    records = list(shared_records(shared_data, name))[::step]
    compare_corpus(fast, slow, records, body_key)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["lawrefbook.dev.jsonl", "govdocs_small.dev.jsonl"])
def test_native_equals_python_with_extra_terms_and_stop_words(
    name: str, shared_data: Path, fast_extra: GovTokenizer, slow_extra: GovTokenizer
) -> None:
    records = list(shared_records(shared_data, name))[::4]
    compare_corpus(fast_extra, slow_extra, records, "text")
    # The extra terms matter on this text (else the test would prove little).
    tokens = set(
        " ".join(fast_extra.token_text(normalise(text_of(r, "text"))) for r in records).split()
    )
    assert {normalise(term) for term in EXTRA_TERMS} & tokens


# (b) Hostile text -------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    "关于调整城乡最低生活保障标准的通知",
    "示府办发〔2023〕12号　各区县人民政府：\r\n\r\n　　一、总则",
    "２０２３年ＡＢ类补贴12.5％，c++ c# 3.5% a_b __init__ _",
    "ＡＢＣ补贴与abc补贴，医保AB卡，COVID-19防控工作，示例市惠民补贴",
    "emoji😀与生僻字𠀀𪚥𰀀 👨‍👩‍👧 🇨🇳",
    "e\u0301 n\u0303o\u0308 汉\u0301字 ﬁ ㈠ ① ⅷ ²³ ½ Ⅻ",  # combining marks, NFKC-longer forms
    "ｆｕｌｌ　ｗｉｄｔｈ　ＴＥＸＴ　１２３",
    "İstanbul ΣΑΣ ǅ ß ẞ ﬀ Kelvin\u212a Å",  # case mappings Rust and Python may disagree on
    "\x00\x01\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u2028\u2029\ufeff",
    "https://www.gov.cn/zhengce/content/2023-01/01/content_5000000.htm?a=1&b=2#x",
    "城乡居民基本医疗保险制度实施办法城乡居民基本医疗保险制度",
    "a" * 300 + "中" * 300 + "1" * 50,  # long tokens: many inner-word probes
    "١٢٣ ٤٥ ๑๒๓ 〇一二 ᠐᠑ 𝟙𝟚𝟛 𝐀𝐁𝐂",  # digits of other scripts, mathematical letters
    "हिन्दी ॐ ͅ ঁ ٰ",  # marks Rust's is_alphanumeric counts as letters and Python does not
    "\ufffd\uffff\U0010ffff\U000e0001",
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("title_derived", [False, True])
def test_native_equals_python_on_hand_written_text(
    text: str, title_derived: bool, fast: GovTokenizer, slow: GovTokenizer
) -> None:
    assert_same_analysis(fast, slow, text[::-1], text, title_derived)
    assert_same_tokens(fast, slow, text)


def test_native_equals_python_with_extra_terms_on_hand_written_text(
    fast_extra: GovTokenizer, slow_extra: GovTokenizer
) -> None:
    for text in HOSTILE:
        assert_same_analysis(fast_extra, slow_extra, text, text, False)
        assert_same_tokens(fast_extra, slow_extra, text)


# Pieces that meet at boundaries in interesting ways, and single characters from anywhere
# (no surrogates: those are tested below).
_PIECES = st.sampled_from(
    [
        *("城乡", "最低生活保障", "基本医疗保险", "房屋征收补偿", "的", "_", "__", " ", "　", "\n"),
        *(
            "ＡＢ",
            "ab",
            "A",
            "１２",
            "12",
            ".",
            "-",
            "+",
            "#",
            "%",
            "、",
            "，",
            "😀",
            "𠀀",
            "\u0301",
        ),
    ]
)
_CHARS = st.characters(exclude_categories=("Cs",))
_HOSTILE_TEXT = st.lists(_PIECES | _CHARS | st.text(_CHARS, max_size=5), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(title=_HOSTILE_TEXT, body=_HOSTILE_TEXT, title_derived=st.booleans())
def test_native_equals_python_on_generated_text(
    title: str, body: str, title_derived: bool, fast: GovTokenizer, slow: GovTokenizer
) -> None:
    assert_same_analysis(fast, slow, title, body, title_derived)
    assert_same_tokens(fast, slow, body)


# Lone surrogates: such text cannot cross into Rust; the Python path runs instead -----------


def outcome(work: Callable[[], object]) -> object:
    """The result, or the type of the exception raised."""
    try:
        return work()
    except Exception as error:  # compared, not swallowed
        return type(error)


@pytest.mark.parametrize(
    ("title", "body"),
    [("标题", "正文\ud800正文"), ("标\udfff题", "正文"), ("\udc00", "\ud83d"), ("", "\ud800")],
)
@pytest.mark.parametrize("title_derived", [False, True])
def test_lone_surrogates_fall_back_to_the_python_path(
    title: str, body: str, title_derived: bool, fast: GovTokenizer, slow: GovTokenizer
) -> None:
    assert fast.native is not None
    body_crosses = not any(0xD800 <= ord(c) <= 0xDFFF for c in body)
    title_crosses = title_derived or not any(0xD800 <= ord(c) <= 0xDFFF for c in title)
    # Declined (None) exactly when an analysed text holds a lone surrogate.
    answer = fast.native.analyze_text(title, body, title_derived)
    assert (answer is not None) == (body_crosses and title_crosses)
    assert (fast.native.token_text(normalise(body)) is not None) == body_crosses
    # ... and then the Python path gives what it always gave (rjieba raises on a surrogate).
    assert outcome(lambda: DocumentAnalyzer(fast).analyze_text(title, body, title_derived)) == (
        outcome(lambda: DocumentAnalyzer(slow).analyze_text(title, body, title_derived))
    )
    assert outcome(lambda: fast.tokenize(body)) == outcome(lambda: slow.tokenize(body))
    assert outcome(lambda: fast.token_text(normalise(body))) == outcome(
        lambda: slow.token_text(normalise(body))
    )


# Token counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*HOSTILE, "a  b", " a b ", "中 中 中", "\ud800 中 \ud800"])
def test_native_token_counts_equal_pythons(text: str) -> None:
    # Any text, even one with empty pieces or a lone surrogate (counted in Python then).
    expected = Counter(text.split(" ")) if text else {}
    assert native.TokenCounter().count(text) == expected
    assert native.TokenCounter(use_native=False).count(text) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_characters=" "), max_size=4))))
def test_one_native_counter_counts_text_after_text(texts: list[list[str]]) -> None:
    # The strings it keeps from earlier texts never change a later count.
    counter = native.TokenCounter()
    for tokens in texts:
        text = " ".join(tokens)
        assert counter.count(text) == (Counter(tokens) if text else {})


def test_native_counter_keeps_a_bounded_number_of_strings() -> None:
    import gongkai_native

    counter = gongkai_native.TokenCounter(10)
    for start in range(0, 100, 4):
        text = " ".join(f"词{i}" for i in range(start, start + 4))
        assert counter.count(text) == {f"词{i}": 1 for i in range(start, start + 4)}
        assert len(counter) <= 10
    assert counter.count("词1 词1 词2") == {"词1": 2, "词2": 1}


# The tables handed to Rust ----------------------------------------------------------------


def test_word_char_bitmap_is_isalnum_and_the_bigram_word_class() -> None:
    bits = np.unpackbits(np.frombuffer(native.word_char_bits(), dtype=np.uint8), bitorder="little")
    codes = np.arange(0x110000, dtype=np.uint32)
    text = codes.tobytes().decode("utf-32-le", "surrogatepass")
    # `\w` minus `_`, the class whose runs make bigrams (analysis/bigrams.py).
    marked = re.sub(r"[\W_]", "\0", text).encode("utf-32-le", "surrogatepass")
    assert np.array_equal(bits.astype(bool), np.frombuffer(marked, dtype=np.uint32) != 0)
    assert bits[ord("a")] and bits[ord("中")] and bits[ord("٣")] and not bits[ord("_")]


def test_native_normalise_and_bigrams_equal_python(fast: GovTokenizer) -> None:
    from analysis.bigrams import bigram_text

    assert fast.native is not None
    raw = fast.native._analyzer
    for text in HOSTILE:
        assert raw.normalise(text) == normalise(text)
        assert raw.bigram_text(normalise(text)) == bigram_text(normalise(text))


def test_the_python_path_is_chosen_when_asked(slow: GovTokenizer) -> None:
    assert slow.native is None
    assert native.load(np.zeros(1, dtype=np.uint32), [], [], 1, use_native=False) is None


# Worker processes -------------------------------------------------------------------------


def test_workers_run_the_python_path() -> None:
    # Worker processes start only for the pure-Python path (tests/gongkai/test_parallel.py
    # shows the native analyser never starts them).
    from gongkai import parallel

    saved = parallel._worker
    try:
        parallel._start_worker(EXTRA_TERMS, EXTRA_STOP_WORDS)
        assert parallel._worker is not None and parallel._worker.tokenizer.native is None
    finally:
        parallel._worker = saved
