from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from gongkai.document import Document, stable_id


def test_unknown_metadata_is_kept() -> None:
    doc = Document.model_validate({"id": "x", "title": "t", "label": "行政法规", "level": 3})
    assert doc.extra_metadata == {"label": "行政法规", "level": 3}
    again = Document.model_validate_json(doc.model_dump_json())
    assert again == doc and again.extra_metadata["label"] == "行政法规"


def test_source_shapes_are_normalised() -> None:
    doc = Document.model_validate(
        {
            "id": "x",
            "agency": "示例市民政局、示例市财政局",
            "doc_number": "示民发〔2023〕5号",
            "topic": "劳动、人事、监察/社会保障",
            "validity": "expired",
            "date_written": "2023-05-01",
            "date_published": "",
        }
    )
    assert doc.agency == ["示例市民政局", "示例市财政局"]
    assert doc.doc_number is not None and doc.doc_number.raw == "示民发〔2023〕5号"
    assert doc.topic is not None and doc.topic.top == "劳动、人事、监察"
    assert doc.topic.sub == "社会保障"
    assert doc.validity.status == "失效" and doc.validity.evidence == "field: expired"
    assert doc.date_written == date(2023, 5, 1) and doc.date_published is None
    assert doc.year == 2023


def test_gov_cn_backslash_topic() -> None:
    topic = Document(id="x", topic="卫生、体育\\卫生").topic  # type: ignore[arg-type]
    assert topic is not None and (topic.top, topic.sub) == ("卫生、体育", "卫生")


def test_unknown_validity_word_stays_unknown_not_guessed() -> None:
    assert Document(id="x", validity="也许").validity.status == "unknown"  # type: ignore[arg-type]


def test_bad_date_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Document.model_validate({"id": "x", "date_written": "2013-13-01"})


def test_content_hash_follows_content() -> None:
    a = Document(id="x", title="t", body="b")
    assert a.content_hash == Document(id="y", title="t", body="b").content_hash
    assert a.content_hash != Document(id="x", title="t", body="c").content_hash


def test_stable_ids() -> None:
    assert stable_id(url="http://a/b") == stable_id(url="http://a/b")
    assert stable_id(url="http://a/b") != stable_id(url="http://a/c")
    assert stable_id(content="正文").startswith("doc-")
    with pytest.raises(ValueError, match="url or the content"):
        stable_id()
