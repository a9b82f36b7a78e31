"""The one record type that flows through every stage: `Document`."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ValidityStatus = Literal["有效", "失效", "废止", "已修改", "unknown"]


def stable_id(*, url: str | None = None, content: str | None = None) -> str:
    """An id that stays the same when the same document is ingested again.

    The canonical URL wins when there is one (a page keeps its id when its text changes);
    otherwise the content decides.
    """
    if url:
        return "url-" + hashlib.sha1(url.strip().encode("utf-8")).hexdigest()[:16]
    if content is None:
        raise ValueError("a stable id needs a url or the content")
    return "doc-" + hashlib.sha1(content.encode("utf-8")).hexdigest()[:16]


def content_hash(title: str, body: str) -> str:
    """Hash of what a reader sees; unchanged pages are recognised by it."""
    return hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()


class DocNumber(BaseModel):
    """发文字号, as printed and, where it parses, split into its parts."""

    raw: str
    issuer_code: str | None = None  # e.g. 国办发
    year: int | None = None
    serial: int | None = None


class Topic(BaseModel):
    """主题分类 in its two levels (e.g. 城乡建设、环境保护 / 城市规划)."""

    top: str | None = None
    sub: str | None = None


class Validity(BaseModel):
    """有效性 with the evidence it was decided on (a field, a sentence or a document id)."""

    status: ValidityStatus = "unknown"
    evidence: str | None = None


class Attachment(BaseModel):
    name: str
    url: str | None = None
    text: str | None = None


class Reference(BaseModel):
    """A document this one cites, amends, abolishes or implements."""

    kind: Literal["cites", "amends", "abolishes", "implements"] = "cites"
    title: str | None = None
    doc_number: str | None = None
    target_id: str | None = None


class Document(BaseModel):
    """A published government document.

    Unknown metadata from a source is kept (``extra="allow"``) so that nothing a source
    gave us is lost on the way to the index.
    """

    model_config = ConfigDict(extra="allow", str_strip_whitespace=False)

    id: str
    url: str | None = None
    source: str | None = None
    title: str = ""
    # True when the source had no title and ingest took the body's first line instead.
    title_derived: bool = False
    body: str = ""
    agency: list[str] = Field(default_factory=list)
    doc_number: DocNumber | None = None
    index_number: str | None = None
    topic: Topic | None = None
    doc_type: str | None = None
    subject_words: list[str] = Field(default_factory=list)
    date_written: date | None = None
    date_published: date | None = None
    validity: Validity = Field(default_factory=Validity)
    region: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    # Other URLs publishing the same document (reprints found by near-duplicate detection).
    also_at: list[str] = Field(default_factory=list)
    fetched_at: datetime | None = None
    content_hash: str = ""
    language: str = "zh"

    @field_validator("agency", mode="before")
    @classmethod
    def _agency_as_list(cls, value: Any) -> Any:
        # Sources give one issuer as a string, joint issuers as a list or "A、B".
        if value is None:
            return []
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace("，", "、").split("、")]
            return [p for p in parts if p]
        return value

    @field_validator("doc_number", mode="before")
    @classmethod
    def _doc_number_from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"raw": value} if value.strip() else None
        return value

    @field_validator("topic", mode="before")
    @classmethod
    def _topic_from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            # gov.cn writes 卫生、体育\卫生, other sources 卫生、体育/卫生.
            top, _, sub = value.replace("\\", "/").partition("/")
            return {"top": top.strip() or None, "sub": sub.strip() or None}
        return value

    @field_validator("validity", mode="before")
    @classmethod
    def _validity_from_string(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, str):
            word = value.strip()
            return {"status": _VALIDITY_WORDS.get(word, "unknown"), "evidence": f"field: {word}"}
        return value

    @field_validator("date_written", "date_published", mode="before")
    @classmethod
    def _empty_date_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _fill_content_hash(self) -> Document:
        if not self.content_hash:
            self.content_hash = content_hash(self.title, self.body)
        return self

    @property
    def year(self) -> int | None:
        day = self.date_written or self.date_published
        return day.year if day else None

    @property
    def extra_metadata(self) -> dict[str, Any]:
        """Source fields the model has no slot for, kept as they came."""
        return dict(self.model_extra or {})


# Words sources use for validity, mapped to the project's five values.
_VALIDITY_WORDS: dict[str, ValidityStatus] = {
    "有效": "有效",
    "现行有效": "有效",
    "in_force": "有效",
    "in_force_per_source": "有效",
    "失效": "失效",
    "已失效": "失效",
    "expired": "失效",
    "废止": "废止",
    "已废止": "废止",
    "repealed": "废止",
    "已修改": "已修改",
    "修改": "已修改",
    "amended": "已修改",
}


class AnalyzedDocument(BaseModel):
    """A document with the tokens the engines index (produced by ``analysis``).

    Tokens are kept joined by single spaces, the form both engines index (a whitespace
    tokenizer): building, sending between processes and re-joining lists of thousands of
    tokens per document cost a sixth of ingest (issue 9). Lists may be given to the
    constructor (``title_tokens=[...]``); the properties of the same names give lists back.
    """

    document: Document
    title_text: str = ""
    body_text: str = ""
    title_gram_text: str = ""
    body_gram_text: str = ""

    @model_validator(mode="before")
    @classmethod
    def _join_token_lists(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for listed, joined in _TOKEN_FIELDS.items():
                if listed in data:
                    data[joined] = " ".join(data.pop(listed))
        return data

    @property
    def title_tokens(self) -> list[str]:
        return self.title_text.split()

    @property
    def body_tokens(self) -> list[str]:
        return self.body_text.split()

    @property
    def title_grams(self) -> list[str]:
        return self.title_gram_text.split()

    @property
    def body_grams(self) -> list[str]:
        return self.body_gram_text.split()


_TOKEN_FIELDS = {
    "title_tokens": "title_text",
    "body_tokens": "body_text",
    "title_grams": "title_gram_text",
    "body_grams": "body_gram_text",
}
