"""Field accuracy of the article extractor on pages whose metadata is known (the gold records
of ``govdocs_small.dev.jsonl``, which keep each page's HTML): per field, exact match after
light normalisation, over the records whose gold field is present, plus false extractions
(a value where the gold has none)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.crawl.extractor import ArticleData, read_article
from ingest.crawl.profiles import profile_for_url

FIELDS = (
    "title",
    "agency",
    "doc_number",
    "index_number",
    "date_written",
    "date_published",
    "topic",
)
_NOISE = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")


@dataclass
class FieldScore:
    correct: int = 0
    n: int = 0  # records with a gold value
    false_extractions: int = 0  # a value extracted where the gold has none

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def score_records(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, FieldScore]]:
    """Scores by site label (``gov.cn``, ``zyj.beijing.gov.cn`` ...) and field; records
    without HTML or URL are left out."""
    scores: dict[str, dict[str, FieldScore]] = {}
    for record in records:
        html, url = record.get("html"), record.get("url")
        if not html or not url:
            continue
        article = read_article(profile_for_url(url), html, url)
        site = scores.setdefault(str(record.get("label", "")), {f: FieldScore() for f in FIELDS})
        for name in FIELDS:
            gold = _normal(record.get(name))
            found = _normal(predicted(article, name))
            score = site[name]
            if gold is None:
                score.false_extractions += found is not None
            else:
                score.n += 1
                score.correct += found == gold
    return scores


def predicted(article: ArticleData, name: str) -> Any:
    if name == "title":
        return article.title
    value = article.fields.get(name)
    if name == "topic" and isinstance(value, dict):
        return "\\".join(part for part in (value.get("top"), value.get("sub")) if part)
    if name == "agency" and isinstance(value, list):
        return "、".join(value)
    return value


def _normal(value: Any) -> str | None:
    if value is None:
        return None
    text = _NOISE.sub("", str(value)).replace("/", "\\")
    return text or None
