"""Lineage: which documents a document cites, amends, abolishes or implements, who cites it,
and the versions of one act, resolved to document ids and kept in SQLite.

Built from one small `LineageRecord` per document (id, title, date, numbers, references): the
graph is derived data, rebuilt from the index whenever wanted. Nodes and raw references go to
SQLite as they are added; `resolve` then links every reference to a document id with two
in-memory look-up tables (title key -> versions, number key -> documents), so memory stays at
a few small tuples per document, not the documents themselves.

Resolution of one reference from document S:
1. by 发文字号 (normalised: spaces, bracket forms, width, 中华人民共和国/原 prefix) when it has
   one, narrowed by title when both are given; else
2. by title key (`analysis.references.normalise_title`: 《》, 中华人民共和国, (2017年修订) off);
3. S itself is never a candidate (a document that "abolishes" its own title abolishes an
   earlier version of itself, or nothing we hold);
4. among the versions of one act, the newest dated before S (strictly before for amends /
   abolishes: a decision of 2022-03-29 amends the version in force that day, not the version
   it produced the same day); a citation of an act older than every version we hold goes to
   the oldest version; an abolition or amendment never goes to a later version;
5. several documents sharing a title that are *not* versions of one act (two 通知 with the same
   title, the parts of 民法典) are ambiguous: the reference stays unresolved, never guessed.
Unresolved references are kept (``target_id`` None, with the reason), not dropped.

Versions of an act: documents with the same title key and variant (lawrefbook's subtitle:
民法典 has one record per part) whose title names a normative act (…法/条例/办法/规定/细则/
解释 …); notices with identical titles are different documents, not versions.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from analysis.references import (
    ReferenceKind,
    extract_references,
    header_doc_number,
    normalise_doc_number,
    normalise_title,
)
from gongkai.document import Document, Reference, Validity, ValidityStatus

SCHEMA_VERSION = "1"
RESOLVE_BATCH = 20_000

Match = Literal["doc_number", "title"]
# Why a reference has no target: nothing by that title/number, only the citing document
# itself, several unrelated documents, or only versions dated after an amendment/abolition.
Unresolved = Literal["not_found", "self", "ambiguous", "later_only"]

# Titles of acts that are revised in place (a new version replaces the old under one title).
_ACT_TITLE = re.compile(
    r"(?:法|法典|条例|规定|办法|细则|规则|解释|章程|准则|规范|标准|安排|纲要|规程)$"
)
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")
_INFO_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_INFO_NUMBER = re.compile(
    r"[\u4e00-\u9fff]{1,20}令\s*第\s*\d{1,5}\s*号"
    r"|[\u4e00-\u9fff]{1,12}[〔\[［【(（]\s*\d{4}\s*[〕\]］】)）]\s*第?\s*\d{1,5}\s*号"
)


def is_act_title(title_key: str) -> bool:
    """Does this (normalised) title name an act that has versions (not a one-off notice)?"""
    key = title_key
    while True:
        stripped = _TRAILING_NOTE.sub("", key)  # 解释(二), 办法(试行)
        if stripped == key:
            break
        key = stripped
    return bool(_ACT_TITLE.search(key)) and not key.startswith("关于修改")


@dataclass(frozen=True, slots=True)
class RefRecord:
    """A reference as extracted: what it names, not yet what it points to."""

    kind: ReferenceKind
    title: str | None = None
    doc_number: str | None = None


@dataclass(frozen=True, slots=True)
class LineageRecord:
    """What the graph keeps of one document (a few hundred bytes, whatever the body size)."""

    id: str
    title: str
    date: dt.date | None = None
    doc_numbers: tuple[str, ...] = ()
    references: tuple[RefRecord, ...] = ()
    # Part of a multi-record act (lawrefbook subtitle: 民法典 总则 / 物权编 ...).
    variant: str = ""
    validity: ValidityStatus = "unknown"
    validity_evidence: str | None = None

    @classmethod
    def from_document(cls, doc: Document, references_known: bool = False) -> LineageRecord:
        """From a `Document`: its references (extracted when it has none yet, unless
        ``references_known``: they were looked for, and none is none), its number(s) (the
        field; else the header line; plus lawrefbook ``info`` lines) and its date (published,
        written, lawrefbook ``version_date``, else the latest ``info`` date)."""
        extra = doc.extra_metadata
        info = [line for line in extra.get("info") or [] if isinstance(line, str)]
        numbers: list[str] = []
        if doc.doc_number:
            numbers.append(doc.doc_number.raw)
        else:
            header = header_doc_number(doc.body)
            if header:
                numbers.append(header)
        for line in info:
            # Numbers under which versions of this act were issued (国务院令第677号公布, a bare
            # 劳社部发[2008]3号); a citation of any of them means this act, and resolution picks
            # the version by date.
            numbers.extend(match.group(0) for match in _INFO_NUMBER.finditer(line))
        refs = doc.references or ([] if references_known else extract_references(doc))
        variant = extra.get("subtitle")
        return cls(
            id=doc.id,
            title=doc.title,
            date=doc.date_published or doc.date_written or _extra_date(extra, info),
            doc_numbers=tuple(dict.fromkeys(numbers)),
            references=tuple(RefRecord(r.kind, r.title, r.doc_number) for r in refs),
            variant=variant if isinstance(variant, str) else "",
            validity=doc.validity.status,
            validity_evidence=doc.validity.evidence,
        )


def _extra_date(extra: dict[str, Any], info: list[str]) -> dt.date | None:
    version = extra.get("version_date")
    if isinstance(version, str):
        try:
            return dt.date.fromisoformat(version.strip()[:10])
        except ValueError:
            pass
    # The latest promulgation/amendment line (not the 施行 line, which comes later).
    days = []
    for line in info:
        if line.rstrip(" ）)").endswith("施行"):
            continue
        for y, m, d in _INFO_DATE.findall(line):
            try:
                days.append(dt.date(int(y), int(m), int(d)))
            except ValueError:
                continue
    return max(days) if days else None


class LineageLink(BaseModel):
    """One reference, resolved or not."""

    kind: ReferenceKind
    source_id: str
    target_id: str | None = None
    title: str | None = None
    doc_number: str | None = None
    match: Match | None = None
    unresolved: Unresolved | None = None


class Version(BaseModel):
    id: str
    title: str
    date: dt.date | None = None
    variant: str = ""


class Lineage(BaseModel):
    """Everything the lineage view shows for one document."""

    id: str
    cites: list[LineageLink]
    cited_by: list[LineageLink]
    versions: list[Version]
    # What replaced it, step by step (abolished by / newer version), ending at the current one.
    replaced_by: list[str]


_RANK: dict[ValidityStatus, int] = {"unknown": 0, "有效": 1, "已修改": 2, "失效": 3, "废止": 3}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS nodes(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, title_key TEXT NOT NULL, variant TEXT NOT NULL,
    day TEXT, act INTEGER NOT NULL, status TEXT NOT NULL, evidence TEXT);
CREATE INDEX IF NOT EXISTS nodes_series ON nodes(title_key, variant);
CREATE TABLE IF NOT EXISTS numbers(
    number_key TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(number_key, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS numbers_id ON numbers(id);
CREATE TABLE IF NOT EXISTS refs(
    source_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, title TEXT,
    title_key TEXT, doc_number TEXT, number_key TEXT, target_id TEXT, match TEXT,
    unresolved TEXT, PRIMARY KEY(source_id, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refs_target ON refs(target_id);
"""


@dataclass(frozen=True, slots=True)
class _Node:
    id: str
    title_key: str
    variant: str
    day: dt.date | None
    act: bool


@dataclass
class _Index:
    """In-memory look-up tables for one resolve pass."""

    nodes: dict[str, _Node] = field(default_factory=dict)
    by_title: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_number: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class LineageGraph:
    """Documents and the references between them, in SQLite at ``path`` (None: in memory).

    Add records (or documents) with `add`; queries resolve pending references first. Adding a
    document again replaces it (its references too).
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:")
        self._db.executescript(_SCHEMA)
        stored = self._meta("schema")
        if stored is not None and stored != SCHEMA_VERSION:
            # Derived data: an older layout is dropped and rebuilt by the caller.
            self._db.executescript("DELETE FROM nodes; DELETE FROM numbers; DELETE FROM refs;")
        self._set_meta("schema", SCHEMA_VERSION)
        self._db.commit()

    # --- building ---------------------------------------------------------------------

    @classmethod
    def build(
        cls, items: Iterable[Document | LineageRecord], path: Path | str | None = None
    ) -> LineageGraph:
        graph = cls(path)
        graph.add(items)
        graph.resolve()
        return graph

    def add(self, items: Iterable[Document | LineageRecord], batch_size: int = 2000) -> int:
        """Store records (documents are turned into records); returns how many."""
        count = 0
        batch: list[LineageRecord] = []
        for item in items:
            batch.append(
                item if isinstance(item, LineageRecord) else LineageRecord.from_document(item)
            )
            if len(batch) >= batch_size:
                count += self._store(batch)
                batch = []
        count += self._store(batch)
        return count

    def _store(self, records: Sequence[LineageRecord]) -> int:
        if not records:
            return 0
        ids = [(r.id,) for r in records]
        with self._db:
            self._db.executemany("DELETE FROM numbers WHERE id = ?", ids)
            self._db.executemany("DELETE FROM refs WHERE source_id = ?", ids)
            self._db.executemany(
                "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.id,
                        r.title,
                        key,
                        r.variant,
                        r.date.isoformat() if r.date else None,
                        int(is_act_title(key)),
                        r.validity,
                        r.validity_evidence,
                    )
                    for r in records
                    for key in [normalise_title(r.title)]
                ],
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO numbers VALUES (?, ?)",
                [(normalise_doc_number(n), r.id) for r in records for n in r.doc_numbers],
            )
            self._db.executemany(
                "INSERT INTO refs(source_id, seq, kind, title, title_key, doc_number, number_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.id,
                        seq,
                        ref.kind,
                        ref.title,
                        normalise_title(ref.title) if ref.title else None,
                        ref.doc_number,
                        normalise_doc_number(ref.doc_number) if ref.doc_number else None,
                    )
                    for r in records
                    for seq, ref in enumerate(r.references)
                ],
            )
            self._set_meta("resolved", "0")
        return len(records)

    def remove(self, ids: Iterable[str]) -> None:
        rows = [(i,) for i in ids]
        with self._db:
            for table, column in (("nodes", "id"), ("numbers", "id"), ("refs", "source_id")):
                self._db.executemany(f"DELETE FROM {table} WHERE {column} = ?", rows)
            self._set_meta("resolved", "0")

    def resolve(self) -> None:
        """Link every stored reference to a document id (or record why it cannot be)."""
        index = self._load_index()
        reader = self._db.execute("SELECT source_id, seq, kind, title_key, number_key FROM refs")
        # In batches: a million references must not sit in memory at once. Only non-key
        # columns change, so updating behind the open cursor does not disturb it.
        while rows := reader.fetchmany(RESOLVE_BATCH):
            self._db.executemany(
                "UPDATE refs SET target_id = ?, match = ?, unresolved = ?"
                " WHERE source_id = ? AND seq = ?",
                [
                    (*_resolve_one(index, source_id, kind, title_key, number_key), source_id, seq)
                    for source_id, seq, kind, title_key, number_key in rows
                ],
            )
        self._set_meta("resolved", "1")
        self._db.commit()

    def _load_index(self) -> _Index:
        index = _Index()
        for node_id, title_key, variant, day, act in self._db.execute(
            "SELECT id, title_key, variant, day, act FROM nodes"
        ):
            index.nodes[node_id] = _Node(
                node_id, title_key, variant, dt.date.fromisoformat(day) if day else None, bool(act)
            )
            index.by_title[title_key].append(node_id)
        for number_key, node_id in self._db.execute("SELECT number_key, id FROM numbers"):
            index.by_number[number_key].append(node_id)
        return index

    def _ensure_resolved(self) -> None:
        if self._meta("resolved") != "1":
            self.resolve()

    # --- queries ----------------------------------------------------------------------

    def __contains__(self, doc_id: object) -> bool:
        row = self._db.execute("SELECT 1 FROM nodes WHERE id = ?", (doc_id,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM nodes").fetchone()[0])

    def cites(self, doc_id: str) -> list[LineageLink]:
        """Everything ``doc_id`` refers to (all kinds), resolved or not, in text order."""
        self._ensure_resolved()
        return self._links("WHERE source_id = ? ORDER BY seq", (doc_id,))

    def cited_by(self, doc_id: str) -> list[LineageLink]:
        """Documents that refer to ``doc_id`` (cite, amend, abolish or implement it)."""
        self._ensure_resolved()
        return self._links(
            "WHERE target_id = ? AND source_id != ? ORDER BY source_id, seq", (doc_id, doc_id)
        )

    def resolved_references(self, doc_id: str) -> list[Reference]:
        """``doc_id``'s references with ``target_id`` filled where resolved (for Document)."""
        return [
            Reference(kind=link.kind, title=link.title, doc_number=link.doc_number,
                      target_id=link.target_id)
            for link in self.cites(doc_id)
        ]  # fmt: skip

    def _links(self, where: str, args: tuple[Any, ...]) -> list[LineageLink]:
        rows = self._db.execute(
            "SELECT kind, source_id, target_id, title, doc_number, match, unresolved FROM refs "
            + where,
            args,
        )
        return [
            LineageLink(
                kind=kind, source_id=source, target_id=target, title=title,
                doc_number=number, match=match, unresolved=unresolved,
            )
            for kind, source, target, title, number, match, unresolved in rows
        ]  # fmt: skip

    def amendment_chain(self, doc_id: str) -> list[Version]:
        """The versions of ``doc_id``'s act, oldest first (undated ones last); just the
        document itself when it is not a versioned act; empty when unknown."""
        row = self._db.execute(
            "SELECT title_key, variant, act FROM nodes WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            return []
        title_key, variant, act = row
        where, args = (
            ("WHERE title_key = ? AND variant = ?", (title_key, variant))
            if act
            else ("WHERE id = ?", (doc_id,))
        )
        rows = self._db.execute(
            "SELECT id, title, day, variant FROM nodes " + where + " ORDER BY day IS NULL, day, id",
            args,
        )
        return [
            Version(id=i, title=t, date=dt.date.fromisoformat(d) if d else None, variant=v)
            for i, t, d, v in rows
        ]

    def _next_version(self, doc_id: str) -> str | None:
        """The first version dated strictly after ``doc_id`` in its act's chain."""
        chain = self.amendment_chain(doc_id)
        own = next((v for v in chain if v.id == doc_id), None)
        if own is None or own.date is None:
            return None
        own_day = own.date
        return next((v.id for v in chain if v.date is not None and v.date > own_day), None)

    def replaced_by(self, doc_id: str, limit: int = 50) -> list[str]:
        """Follow "abolished by" and "newer version" steps from ``doc_id`` to the document in
        force now. A cycle in the data (A abolishes B, B abolishes A) stops the walk."""
        self._ensure_resolved()
        path: list[str] = []
        seen = {doc_id}
        current = doc_id
        while len(path) < limit:
            step = self._abolisher(current) or self._next_version(current)
            if step is None or step in seen:
                break
            path.append(step)
            seen.add(step)
            current = step
        return path

    def _abolisher(self, doc_id: str) -> str | None:
        row = self._db.execute(
            "SELECT r.source_id FROM refs r LEFT JOIN nodes n ON n.id = r.source_id"
            " WHERE r.target_id = ? AND r.kind = 'abolishes' AND r.source_id != ?"
            " ORDER BY n.day IS NULL, n.day, r.source_id LIMIT 1",
            (doc_id, doc_id),
        ).fetchone()
        return str(row[0]) if row else None

    def lineage(self, doc_id: str) -> Lineage | None:
        """The whole view for one document (for ``GET /documents/{id}/lineage`` and the CLI)."""
        if doc_id not in self:
            return None
        return Lineage(
            id=doc_id,
            cites=self.cites(doc_id),
            cited_by=self.cited_by(doc_id),
            versions=self.amendment_chain(doc_id),
            replaced_by=self.replaced_by(doc_id),
        )

    def validity_updates(self, source_wins: bool = True) -> dict[str, Validity]:
        """Validity that other documents imply, for the documents whose status it changes.

        - abolished by another document -> 废止, evidence = that document's id (the earliest);
        - amended by another document -> 已修改, evidence = that document's id;
        - an older version of an act with a newer version in the graph -> 已修改, evidence =
          the next version's id.
        A status is only ever raised (有效 -> 已修改 -> 失效/废止), never lowered: a source that
        already says 失效 keeps it. The version rule is an inference, not a statement: with
        ``source_wins`` (default) it does not override a 有效 given by a page field;
        ``source_wins=False`` lets it (lawrefbook marks many superseded versions "in force").
        """
        self._ensure_resolved()
        status: dict[str, tuple[ValidityStatus, str | None]] = {
            node_id: (st, ev)
            for node_id, st, ev in self._db.execute("SELECT id, status, evidence FROM nodes")
        }
        proposed: dict[str, Validity] = {}

        def propose(target: str, new: ValidityStatus, evidence: str, inferred: bool) -> None:
            current, current_evidence = status[target]
            if target in proposed or _RANK[new] <= _RANK[current]:
                return
            from_field = (current_evidence or "").startswith("field")
            if inferred and source_wins and current == "有效" and from_field:
                return
            proposed[target] = Validity(status=new, evidence=evidence)

        for kind, new in (("abolishes", "废止"), ("amends", "已修改")):
            rows = self._db.execute(
                "SELECT r.target_id, r.source_id FROM refs r JOIN nodes n ON n.id = r.source_id"
                " WHERE r.kind = ? AND r.target_id IS NOT NULL AND r.target_id != r.source_id"
                " ORDER BY r.target_id, n.day IS NULL, n.day, r.source_id",
                (kind,),
            )
            for target, source in rows:
                propose(target, new, source, inferred=False)  # type: ignore[arg-type]
        for older, newer in self._superseded():
            propose(older, "已修改", newer, inferred=True)
        return proposed

    def _superseded(self) -> Iterator[tuple[str, str]]:
        """(older version, next newer version) for every act with dated versions."""
        rows = self._db.execute(
            "SELECT title_key, variant, id, day FROM nodes WHERE act = 1 AND day IS NOT NULL"
            " ORDER BY title_key, variant, day, id"
        )
        series: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for title_key, variant, node_id, day in rows:
            series[(title_key, variant)].append((day, node_id))
        for versions in series.values():
            for position, (day, node_id) in enumerate(versions):
                newer = next((i for d, i in versions[position + 1 :] if d > day), None)
                if newer is not None:
                    yield node_id, newer

    def stats(self) -> dict[str, int]:
        """Counts for reports: documents, references by state, acts with several versions."""
        self._ensure_resolved()
        one = self._db.execute
        return {
            "documents": int(one("SELECT COUNT(*) FROM nodes").fetchone()[0]),
            "references": int(one("SELECT COUNT(*) FROM refs").fetchone()[0]),
            "resolved": int(
                one("SELECT COUNT(*) FROM refs WHERE target_id IS NOT NULL").fetchone()[0]
            ),
            "multi_version_acts": int(
                one(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM nodes WHERE act = 1"
                    " GROUP BY title_key, variant HAVING COUNT(*) > 1)"
                ).fetchone()[0]
            ),
        }  # fmt: skip

    # --- plumbing ---------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LineageGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _resolve_one(
    index: _Index, source_id: str, kind: str, title_key: str | None, number_key: str | None
) -> tuple[str | None, Match | None, Unresolved | None]:
    """(target id, how, why not) for one reference; see the module docstring for the rules."""
    source = index.nodes.get(source_id)
    source_day = source.day if source else None
    how: Match = "title"
    candidates: list[str] = []
    if number_key:
        candidates = list(index.by_number.get(number_key, ()))
        if candidates:
            how = "doc_number"
            if title_key:
                same_title = [c for c in candidates if index.nodes[c].title_key == title_key]
                candidates = same_title or candidates
    if not candidates and title_key:
        candidates = list(index.by_title.get(title_key, ()))
        how = "title"
    if not candidates:
        return None, None, "not_found"
    others = [c for c in candidates if c != source_id]
    if not others:
        return None, None, "self"
    nodes = [index.nodes[c] for c in others]
    if len(nodes) > 1:
        series = {(n.title_key, n.variant) for n in nodes}
        if len(series) > 1:
            # Parts of one act (民法典 总则/物权编 ...): the part-less record if there is one.
            whole = [n for n in nodes if not n.variant]
            if len({(n.title_key, n.variant) for n in whole}) != 1:
                return None, None, "ambiguous"
            nodes = whole
        if len(nodes) > 1 and how == "title" and not nodes[0].act:
            return None, None, "ambiguous"  # same-titled notices are different documents
    chosen = _pick_version(nodes, source_day, strict=kind in ("amends", "abolishes"))
    if chosen is None:
        return None, None, "later_only"
    return chosen.id, how, None


def _pick_version(nodes: list[_Node], source_day: dt.date | None, strict: bool) -> _Node | None:
    """The version a reference made on ``source_day`` means (see the module docstring)."""
    if len(nodes) == 1 and (nodes[0].day is None or source_day is None):
        return nodes[0]
    dated = sorted((n for n in nodes if n.day is not None), key=lambda n: (n.day, n.id))
    undated = sorted((n for n in nodes if n.day is None), key=lambda n: n.id)
    if source_day is None:
        return dated[-1] if dated else undated[0]
    before = [
        n
        for n in dated
        if n.day is not None and (n.day < source_day or (not strict and n.day == source_day))
    ]
    if before:
        return before[-1]
    if undated:
        return undated[0]
    if strict:
        return None
    return dated[0]  # a citation of an act older than every version we hold
