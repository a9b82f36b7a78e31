"""Duplicate detection behind one small protocol (cf. scrapy's dupefilters): swap the class,
keep the calls.

- `ExactDuplicateFilter`: the same ``content_hash`` (title + body as a reader sees them) is one
  document; it is never indexed twice.
- `NearDuplicateFinder`: reprints of a document on other sites (page chrome such as 字号：大 中
  小 / 打印本页 added, whitespace and punctuation changed, a header line more) are grouped by
  MinHash + LSH (datasketch) over character shingles of the normalised body. It answers exact
  duplicates too, so one finder is enough in the pipeline.
- `NullDuplicateFilter`: finds nothing (for runs without dedup).

The canonical document of a group is the *first one seen*. A canonical id chosen by "richest
metadata" would change when a richer reprint arrives later, and every earlier verdict (and
index entry) pointing at the old canonical would have to move; first-seen is stable,
incremental and needs no second pass. Richer metadata of later reprints can still be merged
into the canonical record by the caller (the verdict names it).

Versions of one act are not reprints even when their texts are 90% alike: a near match whose
metadata says otherwise (different 发文字号, or publication dates more than
``max_date_gap_days`` apart) is reported as "new", with the similarity kept in the verdict.

State is a SQLite file (derived data: rebuilt from the index when lost): the signatures, and
the LSH band index over them (`_BandIndex`), so a finder's memory does not grow with the
documents it has seen and it opens at once however many there are.
"""

from __future__ import annotations

import re
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from datasketch import MinHash, MinHashLSH
from pydantic import BaseModel

from analysis.native import load_minhasher
from analysis.references import normalise_doc_number
from analysis.tokenizer import normalised_word_characters
from gongkai.document import Document

VerdictKind = Literal["new", "exact", "near"]


class DuplicateVerdict(BaseModel):
    kind: VerdictKind
    canonical_id: str | None = None
    # Estimated Jaccard similarity of shingle sets (1.0 for exact duplicates; for "new", the
    # best candidate's similarity, 0.0 when there was none).
    similarity: float = 0.0


NEW = DuplicateVerdict(kind="new")


@runtime_checkable
class DuplicateFilter(Protocol):
    """What the ingest pipeline asks of a duplicate detector."""

    def check(self, doc: Document) -> DuplicateVerdict:
        """Is ``doc`` a duplicate of a document already added (never of itself)?"""

    def add(self, doc: Document) -> DuplicateVerdict:
        """Remember ``doc`` (replacing an earlier document with its id); returns its verdict."""

    def close(self) -> None: ...


class NullDuplicateFilter:
    """Finds no duplicates."""

    def check(self, doc: Document) -> DuplicateVerdict:
        return NEW

    def add(self, doc: Document) -> DuplicateVerdict:
        return NEW

    def close(self) -> None:
        return None


# Adds are committed in batches: a commit per document cost 2 ms (an fsync) at ingest.
COMMIT_EVERY = 500


def _connect(path: Path | str | None) -> sqlite3.Connection:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path) if path is not None else ":memory:")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class _Batched:
    """Commits every `COMMIT_EVERY` writes, and on `flush` / `close`."""

    _db: sqlite3.Connection
    _pending = 0

    def _written(self) -> None:
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        self._db.commit()
        self._pending = 0

    def close(self) -> None:
        self.flush()
        self._db.close()


class ExactDuplicateFilter(_Batched):
    """Same ``content_hash`` -> the same document; canonical = the first id seen with it."""

    def __init__(self, path: Path | str | None = None) -> None:
        self._db = _connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS exact(id TEXT PRIMARY KEY, content_hash TEXT NOT NULL,"
            " seq INTEGER NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS exact_hash ON exact(content_hash, seq)")
        self._db.commit()

    def check(self, doc: Document) -> DuplicateVerdict:
        # The first id seen with this hash; a document that is itself the first is no one's
        # duplicate (ingesting it again is an update).
        row = self._db.execute(
            "SELECT id FROM exact WHERE content_hash = ? ORDER BY seq LIMIT 1",
            (doc.content_hash,),
        ).fetchone()
        if row is None or row[0] == doc.id:
            return NEW
        return DuplicateVerdict(kind="exact", canonical_id=row[0], similarity=1.0)

    def add(self, doc: Document) -> DuplicateVerdict:
        verdict = self.check(doc)
        self._db.execute(
            "INSERT OR REPLACE INTO exact VALUES (?, ?,"
            " COALESCE((SELECT seq FROM exact WHERE id = ?),"
            " (SELECT COALESCE(MAX(seq), 0) + 1 FROM exact)))",
            (doc.id, doc.content_hash, doc.id),
        )
        self._written()
        return verdict


# Lines sites add around an article: font-size switches, print/close links, share bars,
# breadcrumbs, view counters, source/date bylines. Only short lines are considered.
_CHROME = re.compile(
    r"字号|打印|关闭|分享|扫一扫|收藏|浏览次数|阅读次数|访问量|点击数|当前位置|首页\s*[>›»]|"
    r"来源[:：]|发布时间|发布日期|作者[:：]|责任编辑|【\s*[大中小]|上一篇|下一篇|返回顶部|"
    r"微信|微博|复制链接"
)
_CHROME_MAX_CHARS = 60
SHINGLE = 5  # characters per shingle: long enough that Chinese text rarely repeats one by chance
MIN_TEXT = 30  # below this, title + body are shingled together


def fingerprint_text(doc: Document) -> str:
    """The text compared: body without page chrome lines, width/case folded, only letters,
    digits and Han characters kept (whitespace and punctuation differ between reprints)."""
    body = doc.body
    if _CHROME.search(body) is None:
        # No line is chrome (a match in a line is one in the body), and keeping the line
        # breaks changes nothing: `normalise` folds one character to one and leaves a line
        # break as it is, a non-word character that goes anyway (tested). Most bodies: no
        # per-line pass (issue 9).
        kept = body
    else:
        kept = "".join(
            line
            for line in body.splitlines()
            if not (len(line.strip()) <= _CHROME_MAX_CHARS and _CHROME.search(line))
        )
    text = normalised_word_characters(kept)
    if len(text) < MIN_TEXT:
        text = normalised_word_characters(doc.title) + text
    return text


# Odd 64-bit multiplier of the rolling shingle hash (any odd constant with mixed bits works:
# datasketch's affine32 scheme mixes the values again before permuting them).
_BASE = np.uint64(0x9E3779B97F4A7C15)


def shingle_hashes(text: str, size: int = SHINGLE) -> np.ndarray:
    """32-bit hashes of the distinct ``size``-character shingles of ``text``, computed in numpy:
    hashing each shingle in Python cost 3 ms a document, this costs 0.1 ms."""
    if not text:
        return np.zeros(0, dtype=np.uint32)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    size = min(size, len(codes))
    count = len(codes) - size + 1
    hashes = np.zeros(count, dtype=np.uint64)
    for offset in range(size):  # wraps modulo 2**64, silently for arrays
        hashes = hashes * _BASE + codes[offset : offset + count]
    folded = (hashes ^ (hashes >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return np.unique(folded.astype(np.uint32))


def _prehashed(value: int) -> int:
    # Shingles arrive already hashed (`shingle_hashes`); datasketch applies its permutations.
    return value


NEXT_SEQ_SQL = "SELECT COALESCE(MAX(seq), 0) + 1 FROM sigs"
# Signatures kept waiting for their documents (a few batches' worth).
MAX_PRESIGNED = 10_000


class MinHashSigner:
    """The MinHash signature `NearDuplicateFinder` compares, of one document at a time.

    Needs nothing but the document, so an ingest computes signatures on its worker processes
    (`gongkai.enrichment_pool`) and hands them to the finder, which keeps the state."""

    SCHEME = "affine32"
    HASH = "poly64-u32"

    def __init__(self, num_perm: int = 128, use_native: bool = True) -> None:
        self.num_perm = num_perm
        self.template = MinHash(num_perm=num_perm, hashfunc=_prehashed, scheme=self.SCHEME)
        # The same signatures in one native call when the extension is built (0.15 ms a
        # document against 0.54, the fingerprint text included); the Python path below is
        # its reference (tests/analysis/test_dedup.py).
        self._native = load_minhasher(
            self.template.permutations, SHINGLE, int(_BASE), use_native=use_native
        )

    @property
    def settings(self) -> str:
        """Signatures with other settings cannot be compared with these."""
        return f"{self.SCHEME}/{self.HASH}/{self.num_perm}/{SHINGLE}"

    def sign(self, doc: Document) -> np.ndarray:
        text = fingerprint_text(doc)
        signed = self._native.sign(text) if self._native is not None else None
        if signed is not None:
            return signed
        minhash = self.template.copy()
        # A list of ints: datasketch iterates it in Python, and numpy scalars iterate 3x slower.
        minhash.update_batch(shingle_hashes(text).tolist())
        values: np.ndarray = minhash.hashvalues.astype("<u4")
        return values


class _BandIndex:
    """Locality-sensitive hashing of MinHash signatures in the finder's SQLite file: a
    signature is cut into ``bands`` slices of ``rows`` values, and two documents are
    candidates when one whole slice is equal. Bands and rows are datasketch's `MinHashLSH`
    choice for the threshold, so the candidates are the ones it gives; kept in memory, its
    tables took ~3.2 KB a document and were rebuilt from every signature on open."""

    def __init__(self, db: sqlite3.Connection, threshold: float, num_perm: int) -> None:
        chosen = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.bands, self.rows = chosen.b, chosen.r
        self._db = db
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS bands(band INTEGER NOT NULL, slice BLOB NOT NULL,"
            " id TEXT NOT NULL);"
            "CREATE INDEX IF NOT EXISTS bands_slice ON bands(band, slice);"
            "CREATE INDEX IF NOT EXISTS bands_id ON bands(id);"
        )
        # Every band's lookup in one statement (see `query`).
        self._query_sql = " UNION ALL ".join(
            ["SELECT id FROM bands WHERE band = ? AND slice = ?"] * self.bands
        )

    @property
    def settings(self) -> str:
        return f"{self.bands}x{self.rows}"

    def _slices(self, signature: np.ndarray) -> list[tuple[int, bytes]]:
        data = signature.astype("<u4").tobytes()
        width = 4 * self.rows  # bytes of one slice
        return [(band, data[band * width : (band + 1) * width]) for band in range(self.bands)]

    def insert(self, doc_id: str, signature: np.ndarray) -> None:
        self._db.executemany(
            "INSERT INTO bands VALUES (?, ?, ?)",
            [(band, piece, doc_id) for band, piece in self._slices(signature)],
        )

    def remove(self, doc_id: str) -> None:
        self._db.execute("DELETE FROM bands WHERE id = ?", (doc_id,))

    def query(self, signature: np.ndarray) -> set[str]:
        # One statement for all bands, each an index lookup: a statement per band was most
        # of the finder's time at ingest (issue 9).
        params = [value for pair in self._slices(signature) for value in pair]
        return {row[0] for row in self._db.execute(self._query_sql, params)}

    def rebuild(self, signatures: Iterable[tuple[str, bytes]]) -> None:
        """Index every stored signature again (a file from before the band index, or made
        with other bands)."""
        self._db.execute("DELETE FROM bands")
        for doc_id, blob in signatures:
            self.insert(doc_id, np.frombuffer(blob, dtype="<u4"))


class NearDuplicateFinder(_Batched):
    """MinHash signatures (``num_perm``) of 5-character shingles, LSH at ``threshold``."""

    def __init__(
        self,
        path: Path | str | None = None,
        threshold: float = 0.8,
        num_perm: int = 128,
        max_date_gap_days: int = 31,
    ) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.max_date_gap_days = max_date_gap_days
        self._db = _connect(path)
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
            "CREATE TABLE IF NOT EXISTS sigs(id TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
            " content_hash TEXT NOT NULL, canonical_id TEXT NOT NULL, doc_number TEXT,"
            " day TEXT, sig BLOB NOT NULL);"
            "CREATE INDEX IF NOT EXISTS sigs_hash ON sigs(content_hash, seq);"
            "CREATE INDEX IF NOT EXISTS sigs_canonical ON sigs(canonical_id);"
            # `_next_seq` reads MAX(seq) per new document: without this index a scan of a whole
            # index, which made an ingest quadratic in the documents seen (issue 9 profile).
            "CREATE INDEX IF NOT EXISTS sigs_seq ON sigs(seq);"
        )
        self.signer = MinHashSigner(num_perm)
        # Signatures computed ahead by worker processes (`remember_signature`).
        self._presigned: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._bands = _BandIndex(self._db, threshold, num_perm)
        if self._meta("signature") not in (None, self.signer.settings):
            # Signatures made another way cannot be compared: start again (derived data).
            self._db.execute("DELETE FROM sigs")
            self._db.execute("DELETE FROM bands")
        if self._meta("bands") != self._bands.settings:
            # A file from before the band index, or made with other bands.
            self._bands.rebuild(self._db.execute("SELECT id, sig FROM sigs"))
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('signature', ?), ('bands', ?)",
            (self.signer.settings, self._bands.settings),
        )
        self._db.commit()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def signature(self, doc: Document) -> np.ndarray:
        presigned = self._presigned.pop((doc.title, doc.body), None)
        return self.signer.sign(doc) if presigned is None else presigned

    def remember_signature(self, doc: Document, signature: np.ndarray) -> None:
        """``doc``'s signature, computed elsewhere by a `MinHashSigner` with this finder's
        ``signer.settings``; used (once) when ``doc`` is checked or added. Keyed by the text
        it was computed from, so it can never stand for another text."""
        presigned = self._presigned
        presigned[(doc.title, doc.body)] = signature
        # Bounded, even for documents that never arrive; the oldest go first, as the
        # analyser's remembered analyses do: clearing all would drop the batch about to come.
        while len(presigned) > MAX_PRESIGNED:
            presigned.popitem(last=False)

    def check(self, doc: Document) -> DuplicateVerdict:
        return self._check(doc, self.signature(doc))

    def _check(self, doc: Document, sig: np.ndarray) -> DuplicateVerdict:
        # Matches in the group this document heads do not count: a canonical document added
        # again is an update, not a duplicate of its own reprints.
        row = self._db.execute(
            "SELECT canonical_id FROM sigs WHERE content_hash = ? AND id != ?"
            " AND canonical_id != ? ORDER BY seq LIMIT 1",
            (doc.content_hash, doc.id, doc.id),
        ).fetchone()
        if row is not None:
            return DuplicateVerdict(kind="exact", canonical_id=row[0], similarity=1.0)
        candidates = [key for key in self._bands.query(sig) if key != doc.id]
        best: tuple[float, int, str] | None = None
        best_any = 0.0
        for key in candidates:
            stored = self._db.execute(
                "SELECT seq, canonical_id, doc_number, day, sig FROM sigs WHERE id = ?", (key,)
            ).fetchone()
            if stored is None:
                continue
            seq, canonical, number, day, blob = stored
            if canonical == doc.id:
                continue
            similarity = float(np.mean(np.frombuffer(blob, dtype="<u4") == sig))
            best_any = max(best_any, similarity)
            if similarity < self.threshold or self._other_version(doc, number, day):
                continue
            # Highest similarity wins; among equals, the earliest seen.
            if best is None or (similarity, -seq) > (best[0], -best[1]):
                best = (similarity, seq, canonical)
        if best is None:
            return DuplicateVerdict(kind="new", similarity=best_any)
        return DuplicateVerdict(kind="near", canonical_id=best[2], similarity=best[0])

    def _other_version(self, doc: Document, number: str | None, day: str | None) -> bool:
        """Does metadata say these are two documents (another 发文字号, dates far apart)?"""
        own_number = _number_key(doc)
        if own_number and number and own_number != number:
            return True
        own_day = doc.date_published or doc.date_written
        if own_day and day:
            return abs((own_day - date.fromisoformat(day)).days) > self.max_date_gap_days
        return False

    def add(self, doc: Document) -> DuplicateVerdict:
        sig = self.signature(doc)
        verdict = self._check(doc, sig)
        canonical = verdict.canonical_id or doc.id
        day = doc.date_published or doc.date_written
        row = self._db.execute("SELECT seq FROM sigs WHERE id = ?", (doc.id,)).fetchone()
        if row is not None:
            self._bands.remove(doc.id)
        seq = row[0] if row else self._next_seq()
        self._db.execute(
            "INSERT OR REPLACE INTO sigs VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                doc.id, seq, doc.content_hash, canonical, _number_key(doc),
                day.isoformat() if day else None, sig.tobytes(),
            ),
        )  # fmt: skip
        self._written()
        self._bands.insert(doc.id, sig)
        return verdict

    def _next_seq(self) -> int:
        return int(self._db.execute(NEXT_SEQ_SQL).fetchone()[0])

    def members(self, canonical_id: str) -> list[str]:
        """The documents grouped under ``canonical_id`` (itself first), in order seen."""
        rows = self._db.execute(
            "SELECT id FROM sigs WHERE canonical_id = ? ORDER BY id != ?, seq",
            (canonical_id, canonical_id),
        )
        return [row[0] for row in rows]

    def similarity(self, a: Document, b: Document) -> float:
        """Estimated Jaccard similarity of two documents' shingle sets (for reports)."""
        return float(np.mean(self.signature(a) == self.signature(b)))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM sigs").fetchone()[0])


def _number_key(doc: Document) -> str | None:
    return normalise_doc_number(doc.doc_number.raw) if doc.doc_number else None
