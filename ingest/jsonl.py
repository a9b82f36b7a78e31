"""JSON Lines: one document per line, streamed (a 1 GB file is never held in memory).

A broken line is reported as a `Problem` with its line number and the rest of the file loads.
Fields that `Document` knows are mapped (``text`` -> ``body``, dates parsed, 主题分类 split,
attachments normalised); every other field is kept as an extra field, as it came.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from gongkai.document import Document, stable_id
from ingest.base import (
    BadRecord,
    DropItem,
    FileTooLarge,
    IngestError,
    Ingestor,
    Problem,
    UndecodableFile,
    human_size,
)
from ingest.support.fields import (
    DATE_FIELDS,
    derive_title,
    parse_date,
    parse_topic,
    split_subject_words,
)
from ingest.support.html import HTMLMixin
from ingest.support.manifest import ManifestEntry

# Source field -> Document field, used only when the Document field itself is absent.
FIELD_ALIASES = {
    "text": "body",
    "publish_date": "date_published",  # lawrefbook: the promulgation date of the version
    "crawl_time": "fetched_at",  # govdocs_small (gov.cn crawl)
}
# A file whose first lines are all not UTF-8 is one problem, not one per line.
UNDECODABLE_LINES_BEFORE_GIVING_UP = 10
_CHUNK = 1 << 20


class JsonlIngestor(HTMLMixin, Ingestor):
    name = "jsonl"
    extensions = frozenset({".jsonl", ".ndjson", ".jsonlines"})
    streams = True

    def ingest(self, path: Path, hint: ManifestEntry | None = None) -> Iterator[Document | Problem]:
        cap = self.settings.max_file_bytes
        loaded = 0
        # Undecodable lines before the first good one wait here: if the file starts with
        # UNDECODABLE_LINES_BEFORE_GIVING_UP of them, it is one file-level problem instead.
        held: list[Problem] = []
        # Resolved once: per record it cost more than parsing the record (issue 9 profile).
        origin = str(path.resolve())
        with path.open("rb") as handle:
            for number, raw in _read_lines(handle, cap):
                if raw is None:
                    yield FileTooLarge(
                        f"line too large (over the {human_size(cap)} cap), skipped",
                        path=path,
                        line=number,
                    ).to_problem(path)
                    continue
                if number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                if not raw.strip():
                    continue  # blank lines (often the last one) are not records
                try:
                    record = _parse_line(raw, path, number)
                except UndecodableFile as exc:
                    if loaded:
                        yield exc.to_problem(path)
                        continue
                    held.append(exc.to_problem(path))
                    if len(held) >= UNDECODABLE_LINES_BEFORE_GIVING_UP:
                        raise UndecodableFile(
                            f"JSON Lines must be UTF-8 and the first {len(held)} lines are "
                            "not; convert the file to UTF-8",
                            path=path,
                        ) from exc
                    continue
                except BadRecord as exc:
                    yield exc.to_problem(path)
                    continue
                try:
                    document = self.record_to_document(record, path, number, origin)
                except IngestError as exc:
                    yield exc.to_problem(path)
                    continue
                if not loaded:
                    yield from held
                    held.clear()
                loaded += 1
                yield document
        yield from held

    def estimate(self, path: Path) -> int:
        """Newlines counted in 1 MB chunks: a second per GB, no parsing."""
        count = 0
        last = b"\n"
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                count += chunk.count(b"\n")
                last = chunk[-1:]
        return count + (last != b"\n")

    def record_to_document(
        self, record: dict[str, Any], path: Path, line: int, origin: str | None = None
    ) -> Document:
        """One JSON object -> a Document (raises `BadRecord` or `DropItem`); ``origin`` is
        ``path`` resolved (the record's ``ingested_from``)."""
        if not any(value not in (None, "", [], {}) for value in record.values()):
            raise DropItem("empty record", path=path, line=line)
        rec = dict(record)
        for alias, target in FIELD_ALIASES.items():
            if target not in rec and alias in rec:
                rec[target] = rec.pop(alias)
        # Where the record was read from; a record's own field of that name wins.
        rec.setdefault("ingested_from", origin or str(path.resolve()))
        fields: dict[str, Any] = {"id": _record_id(record, path, line)}
        rec.pop("id", None)
        title = rec.pop("title", None) or ""
        body = rec.pop("body", None) or ""
        if not body and isinstance(rec.get("html"), str):
            # Records that carry only the page: read it like an HTML file would be.
            page = self.extract_page(rec["html"])
            body = page.body
            title = title or page.title or ""
            for name, value in {**page.fields, **page.extra}.items():
                rec.setdefault(name, value)
        fields["title"], fields["body"] = title, body
        if not title and isinstance(body, str) and body.strip():
            fields["title"] = derive_title(body)
            fields["title_derived"] = True

        for name in DATE_FIELDS:
            if name in rec:
                value = rec.pop(name)
                fields[name] = parse_date(value)
                if fields[name] is None and value not in (None, ""):
                    fields[f"{name}_raw"] = value  # kept, never guessed
        if "fetched_at" in rec:
            fields.update(_fetched_at(rec.pop("fetched_at")))
        fields.update(_topic(rec))
        if "subject_words" in rec:
            fields["subject_words"] = split_subject_words(rec.pop("subject_words"))
        if "attachments" in rec:
            fields.update(_attachments(rec.pop("attachments")))

        # Everything else: Document's own fields go through its validators, the rest is kept.
        try:
            return Document(**{**rec, **fields})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in exc.errors()[:3]
            )
            raise BadRecord(
                f"record does not fit a Document ({problems})", path=path, line=line
            ) from exc


def _read_lines(handle: IO[bytes], cap: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line; None for a line over ``cap``, skipped unread."""
    number = 0
    while line := handle.readline(cap + 1):
        number += 1
        if len(line) > cap and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(_CHUNK)
            yield number, None
        else:
            yield number, line


def _parse_line(raw: bytes, path: Path, line: int) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UndecodableFile(
            f"not UTF-8 (byte {exc.start + 1} of the line)", path=path, line=line
        ) from exc
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRecord(
            f"invalid JSON: {exc.msg} (column {exc.colno})", path=path, line=line
        ) from exc
    if not isinstance(record, dict):
        raise BadRecord(f"a JSON {type(record).__name__}, not an object", path=path, line=line)
    if _SURROGATE_ESCAPE.search(text):
        return {
            _LONE_SURROGATE.sub("\ufffd", key): _without_lone_surrogates(value)
            for key, value in record.items()
        }
    return record


# JSON may escape half of a UTF-16 pair (\ud800) on its own: json.loads then gives a string no
# encoder accepts, which would fail the parser, the engine or an export much later.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD (the record is kept)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def _record_id(record: dict[str, Any], path: Path, line: int) -> str:
    given = record.get("id")
    if isinstance(given, str | int) and not isinstance(given, bool) and str(given).strip():
        return str(given).strip()
    if given is not None and not isinstance(given, str):
        raise BadRecord(f"id must be a string or a number, not {given!r}", path=path, line=line)
    url = record.get("url")
    if isinstance(url, str) and url.strip():
        return stable_id(url=url)
    # The whole record, not just title + body: two messages with the same text but different
    # labels are two records.
    return stable_id(content=json.dumps(record, sort_keys=True, ensure_ascii=False))


def _fetched_at(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            return {"fetched_at": datetime.fromisoformat(value.strip())}
        except ValueError:
            pass
    return {"fetched_at_raw": value} if value not in (None, "") else {}


def _topic(rec: dict[str, Any]) -> dict[str, Any]:
    """主题分类: ``"卫生、体育\\体育"`` (+ ``topic_top``) -> Topic(top, sub)."""
    topic = rec.pop("topic", None)
    top = rec.pop("topic_top", None)
    out: dict[str, Any] = {}
    if isinstance(topic, str):
        topic = parse_topic(topic)
    if topic is None and isinstance(top, str) and top.strip():
        topic = {"top": top.strip(), "sub": None}
    elif isinstance(topic, dict) and isinstance(top, str) and top.strip() != topic.get("top"):
        out["topic_top"] = top  # disagrees with the topic itself: keep it, do not choose
    if topic is not None:
        out["topic"] = topic
    return out


def _attachments(value: Any) -> dict[str, Any]:
    """Attachments as names/URLs in the shapes sources use ({name,url}, {mark,link}, str)."""
    if value is None:
        return {}
    if not isinstance(value, list):
        return {"attachments_raw": value}
    out: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, str) and item.strip():
            out.append({"name": item.strip()})
        elif isinstance(item, dict):
            name = item.get("name") or item.get("mark") or item.get("title")
            url = item.get("url") or item.get("link") or item.get("href")
            if not isinstance(name, str) or not name.strip():
                name = url if isinstance(url, str) else None
            if not name:
                return {"attachments_raw": value}
            out.append({"name": name.strip(), "url": url, "text": item.get("text")})
        else:
            return {"attachments_raw": value}
    return {"attachments": out}
