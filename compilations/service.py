"""Curated compilations as one typed API, used alike by the REST routes, the CLI and the web UI.

Every change goes through `CompilationService._change`: in one transaction it takes the next
version number only if the compilation is still at the version the caller read (optimistic
concurrency: ``expected_version``; None means "whatever is current", for trusted local
tools), applies the change, records the full state after it as a version row (author, time,
what changed) and writes an audit entry. A stale ``expected_version`` raises
`VersionConflict` and changes nothing.

Documents are kept by id; one that has left the search index stays in the compilation and is
reported ``missing`` (never dropped silently).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from compilations import store
from compilations.errors import (
    CompilationNotFound,
    EntryNotFound,
    InvalidChange,
    VersionConflict,
    VersionNotFound,
)
from compilations.models import (
    PUBLIC_STATUSES,
    Compilation,
    CompilationCreate,
    CompilationDocument,
    CompilationSummary,
    CompilationUpdate,
    Entry,
    OrderRule,
    Proposal,
    ProposalReason,
    ProposalStatus,
    StandingQuery,
    Status,
    VersionInfo,
)
from compilations.ordering import order_ids
from compilations.store import CompilationState, EntryState
from engines.base import SearchBackend
from gongkai.audit import AuditLog
from gongkai.document import Document

Change = Callable[[Connection, CompilationState], str]


class CompilationService:
    """Create, read and edit compilations stored in ``engine``'s database.

    ``backend`` (the search index) is used to mark documents missing, to fill titles and to
    apply ordering rules; without one, documents are taken as present.
    """

    def __init__(self, engine: Engine, backend: SearchBackend | None = None) -> None:
        self.engine = engine
        self.backend = backend
        store.create_tables(engine)
        self.audit = AuditLog(engine)

    # --- reading --------------------------------------------------------------------------

    def list_compilations(
        self, statuses: Sequence[Status] | None = None
    ) -> list[CompilationSummary]:
        """Compilations (those in ``statuses`` when given), most recently changed first."""
        with self.engine.connect() as conn:
            rows = store.list_compilations(conn, statuses)
        return [CompilationSummary.model_validate(r) for r in rows]

    def list_public(self) -> list[CompilationSummary]:
        return self.list_compilations(PUBLIC_STATUSES)

    def get(self, compilation_id: int) -> Compilation:
        """The compilation with its documents in reading order, each marked missing or not."""
        with self.engine.connect() as conn:
            row = store.compilation_row(conn, compilation_id)
            state = store.load_state(conn, compilation_id)
        if row is None or state is None:
            raise CompilationNotFound(compilation_id)
        present = self._present([e.doc_id for e in state.entries])
        return Compilation(
            id=compilation_id,
            title=state.title,
            description=state.description,
            query=StandingQuery.model_validate(state.query),
            status=state.status,  # type: ignore[arg-type]
            order_rule=state.order_rule,  # type: ignore[arg-type]
            version=row["version"],
            sections=state.sections,
            documents=[
                Entry(
                    doc_id=e.doc_id,
                    position=i,
                    section=e.section,
                    note=e.note,
                    title=e.title,
                    added_by=e.added_by,
                    added_at=e.added_at,
                    missing=e.doc_id not in present,
                )
                for i, e in enumerate(_reading_order(state))
            ],
            excludes=state.excludes,
            created_by=row["created_by"],
            created_at=row["created_at"],
            updated_by=row["updated_by"],
            updated_at=row["updated_at"],
        )

    def documents(self, compilation_id: int) -> list[CompilationDocument]:
        """The compilation's documents in reading order, as ``(doc_id, section, note, missing)``
        tuples: sections in their order (documents outside any section first), positions
        within. This is what exports iterate over; ``missing`` documents are listed so an
        export can say they are gone rather than skip them unseen."""
        return [
            CompilationDocument(e.doc_id, e.section, e.note, e.missing)
            for e in self.get(compilation_id).documents
        ]

    def version(self, compilation_id: int) -> int:
        with self.engine.connect() as conn:
            found = store.current_version(conn, compilation_id)
        if found is None:
            raise CompilationNotFound(compilation_id)
        return found

    def history(self, compilation_id: int) -> list[VersionInfo]:
        """Every version, newest first."""
        with self.engine.connect() as conn:
            if store.current_version(conn, compilation_id) is None:
                raise CompilationNotFound(compilation_id)
            rows = store.list_versions(conn, compilation_id)
        return [VersionInfo.model_validate(r) for r in rows]

    def proposals(
        self, compilation_id: int, status: ProposalStatus | None = "pending"
    ) -> list[Proposal]:
        """The proposals inbox (pending ones unless ``status`` says otherwise; None: all)."""
        with self.engine.connect() as conn:
            if store.current_version(conn, compilation_id) is None:
                raise CompilationNotFound(compilation_id)
            rows = store.list_proposals(conn, compilation_id, status)
        return [
            Proposal(
                doc_id=r["doc_id"],
                title=r["title"],
                status=r["status"],
                reason=ProposalReason.model_validate(r["reason"]),
                proposed_at=r["proposed_at"],
                decided_by=r["decided_by"],
                decided_at=r["decided_at"],
            )
            for r in rows
        ]

    # --- writing --------------------------------------------------------------------------

    def create(self, author: str, spec: CompilationCreate) -> Compilation:
        _check_sections(spec.sections)
        _check_lengths("author name", [author])
        state = CompilationState(
            title=spec.title,
            description=spec.description,
            query=spec.query.model_dump(mode="json"),
            status=spec.status,
            order_rule=spec.order_rule,
            sections=list(spec.sections),
        )
        with self.engine.begin() as conn:
            compilation_id = store.insert_compilation(conn, state, author)
            store.write_state(conn, compilation_id, state)
            store.insert_version(conn, compilation_id, 1, author, "create", state)
            self.audit.record(
                author,
                "compilation.create",
                _target(compilation_id),
                None,
                {"version": 1, "title": spec.title},
                conn=conn,
            )
        return self.get(compilation_id)

    def update(
        self,
        compilation_id: int,
        author: str,
        changes: CompilationUpdate,
        expected_version: int | None = None,
    ) -> Compilation:
        """Change title, description, standing query, status, order rule or excludes."""
        given = changes.model_dump(exclude_unset=True, exclude_none=True)
        if not given:
            raise InvalidChange("nothing to change: give at least one field")

        def apply(conn: Connection, state: CompilationState) -> str:
            if changes.title is not None:
                state.title = changes.title
            if changes.description is not None:
                state.description = changes.description
            if changes.query is not None:
                state.query = changes.query.model_dump(mode="json")
            if changes.status is not None:
                state.status = changes.status
            if changes.excludes is not None:
                state.excludes = sorted(set(changes.excludes))
                included = {e.doc_id for e in state.entries} & set(state.excludes)
                if included:
                    raise InvalidChange(
                        f"remove {sorted(included)} before excluding them (they are included)"
                    )
            if changes.order_rule is not None:
                state.order_rule = changes.order_rule
                self._sort(state)
            return "update " + ", ".join(sorted(given))

        return self._change(compilation_id, author, expected_version, apply)

    def delete(self, compilation_id: int, author: str, expected_version: int | None = None) -> None:
        with self.engine.begin() as conn:
            row = store.compilation_row(conn, compilation_id)
            if row is None:
                raise CompilationNotFound(compilation_id)
            if expected_version is not None and row["version"] != expected_version:
                raise VersionConflict(compilation_id, expected_version, row["version"])
            store.delete_compilation(conn, compilation_id)
            self.audit.record(
                author,
                "compilation.delete",
                _target(compilation_id),
                {"version": row["version"], "title": row["title"]},
                None,
                conn=conn,
            )

    def add_documents(
        self,
        compilation_id: int,
        author: str,
        doc_ids: Sequence[str],
        *,
        section: str | None = None,
        position: int | None = None,
        note: str = "",
        expected_version: int | None = None,
    ) -> Compilation:
        """Include documents (at ``position``, else at the end); ids already included stay
        where they are. An excluded id is taken off the exclude list: including it is the
        librarian's newer decision."""
        ids = list(dict.fromkeys(d.strip() for d in doc_ids if d.strip()))
        if not ids:
            raise InvalidChange("give at least one document id")
        _check_lengths("document id", ids)
        titles = self._titles(ids)

        def apply(conn: Connection, state: CompilationState) -> str:
            _check_section(state, section)
            have = {e.doc_id for e in state.entries}
            new = [
                EntryState(
                    doc_id=d,
                    section=section,
                    note=note,
                    title=titles.get(d, ""),
                    added_by=author,
                    added_at=store.now(),
                )
                for d in ids
                if d not in have
            ]
            if not new:
                raise InvalidChange("those documents are already in the compilation")
            state.excludes = [d for d in state.excludes if d not in ids]
            at = len(state.entries) if position is None else max(0, position)
            state.entries[at:at] = new
            if state.order_rule != "manual" and position is None:
                self._sort(state)
            return f"add {len(new)} document{'s' if len(new) > 1 else ''}"

        return self._change(compilation_id, author, expected_version, apply)

    def remove_document(
        self,
        compilation_id: int,
        author: str,
        doc_id: str,
        *,
        exclude: bool = False,
        expected_version: int | None = None,
    ) -> Compilation:
        """Take a document out; with ``exclude`` it is also never proposed again."""

        def apply(conn: Connection, state: CompilationState) -> str:
            _entry(state, compilation_id, doc_id)
            state.entries = [e for e in state.entries if e.doc_id != doc_id]
            if exclude and doc_id not in state.excludes:
                state.excludes.append(doc_id)
            return f"remove {doc_id}" + (" and exclude it" if exclude else "")

        return self._change(compilation_id, author, expected_version, apply)

    def move_document(
        self,
        compilation_id: int,
        author: str,
        doc_id: str,
        *,
        position: int | None = None,
        section: str | None = None,
        unsectioned: bool = False,
        expected_version: int | None = None,
    ) -> Compilation:
        """Move a document to ``position`` (0-based, in the reading order of the whole
        compilation) and/or into ``section`` (``unsectioned`` takes it out of its section).
        A document stays within its section's block: a position outside it puts the document
        first or last in its section."""
        if position is None and section is None and not unsectioned:
            raise InvalidChange("say where to: a position, a section, or unsectioned")

        def apply(conn: Connection, state: CompilationState) -> str:
            entry = _entry(state, compilation_id, doc_id)
            _check_section(state, section)
            if section is not None:
                entry.section = section
            elif unsectioned:
                entry.section = None
            if position is not None:
                state.entries.remove(entry)
                state.entries.insert(max(0, min(position, len(state.entries))), entry)
                state.order_rule = "manual"  # a hand-placed document ends automatic order
            where = [f"position {position}"] if position is not None else []
            if section is not None or unsectioned:
                where.append(f"section {section or '(none)'}")
            return f"move {doc_id} to " + ", ".join(where)

        return self._change(compilation_id, author, expected_version, apply)

    def set_order(
        self,
        compilation_id: int,
        author: str,
        doc_ids: Sequence[str],
        expected_version: int | None = None,
    ) -> Compilation:
        """Put ``doc_ids`` first, in that order; documents not named keep their order after."""

        def apply(conn: Connection, state: CompilationState) -> str:
            by_id = {e.doc_id: e for e in state.entries}
            unknown = [d for d in doc_ids if d not in by_id]
            if unknown:
                raise EntryNotFound(f"not in compilation {compilation_id}: {unknown}")
            named = list(dict.fromkeys(doc_ids))
            rest = [e for e in state.entries if e.doc_id not in set(named)]
            state.entries = [by_id[d] for d in named] + rest
            state.order_rule = "manual"
            return f"reorder {len(named)} documents"

        return self._change(compilation_id, author, expected_version, apply)

    def apply_order(
        self,
        compilation_id: int,
        author: str,
        rule: OrderRule,
        expected_version: int | None = None,
    ) -> Compilation:
        """Sort the documents by ``rule`` (e.g. validity then date) and keep the rule, so
        documents added later are placed by it too."""
        return self.update(
            compilation_id, author, CompilationUpdate(order_rule=rule), expected_version
        )

    def set_note(
        self,
        compilation_id: int,
        author: str,
        doc_id: str,
        note: str,
        expected_version: int | None = None,
    ) -> Compilation:
        def apply(conn: Connection, state: CompilationState) -> str:
            _entry(state, compilation_id, doc_id).note = note
            return f"note on {doc_id}" if note else f"clear note on {doc_id}"

        return self._change(compilation_id, author, expected_version, apply)

    def add_section(
        self,
        compilation_id: int,
        author: str,
        name: str,
        position: int | None = None,
        expected_version: int | None = None,
    ) -> Compilation:
        name = name.strip()

        def apply(conn: Connection, state: CompilationState) -> str:
            _check_sections([*state.sections, name])
            at = len(state.sections) if position is None else max(0, position)
            state.sections.insert(at, name)
            return f"add section {name}"

        return self._change(compilation_id, author, expected_version, apply)

    def rename_section(
        self,
        compilation_id: int,
        author: str,
        name: str,
        new_name: str,
        expected_version: int | None = None,
    ) -> Compilation:
        new_name = new_name.strip()

        def apply(conn: Connection, state: CompilationState) -> str:
            _check_section(state, name)
            state.sections[state.sections.index(name)] = new_name
            _check_sections(state.sections)
            for entry in state.entries:
                if entry.section == name:
                    entry.section = new_name
            return f"rename section {name} to {new_name}"

        return self._change(compilation_id, author, expected_version, apply)

    def move_section(
        self,
        compilation_id: int,
        author: str,
        name: str,
        position: int,
        expected_version: int | None = None,
    ) -> Compilation:
        def apply(conn: Connection, state: CompilationState) -> str:
            _check_section(state, name)
            state.sections.remove(name)
            state.sections.insert(max(0, position), name)
            return f"move section {name} to position {position}"

        return self._change(compilation_id, author, expected_version, apply)

    def remove_section(
        self,
        compilation_id: int,
        author: str,
        name: str,
        expected_version: int | None = None,
    ) -> Compilation:
        """Drop a section; its documents stay in the compilation, outside any section."""

        def apply(conn: Connection, state: CompilationState) -> str:
            _check_section(state, name)
            state.sections.remove(name)
            for entry in state.entries:
                if entry.section == name:
                    entry.section = None
            return f"remove section {name}"

        return self._change(compilation_id, author, expected_version, apply)

    def snapshot(
        self,
        compilation_id: int,
        author: str,
        name: str,
        expected_version: int | None = None,
    ) -> VersionInfo:
        """Name the current version (e.g. "2024年版") so it can be found and restored by name."""
        name = name.strip()
        if not name:
            raise InvalidChange("a snapshot needs a name")
        _check_lengths("snapshot name", [name])
        with self.engine.begin() as conn:
            current = store.current_version(conn, compilation_id)
            if current is None:
                raise CompilationNotFound(compilation_id)
            if expected_version is not None and current != expected_version:
                raise VersionConflict(compilation_id, expected_version, current)
            if store.snapshot_taken(conn, compilation_id, name):
                raise InvalidChange(f"compilation {compilation_id} already has a snapshot {name!r}")
            store.name_version(conn, compilation_id, current, name)
            self.audit.record(
                author,
                "compilation.snapshot",
                _target(compilation_id),
                None,
                {"version": current, "snapshot": name},
                conn=conn,
            )
        return next(v for v in self.history(compilation_id) if v.version == current)

    def restore(
        self,
        compilation_id: int,
        author: str,
        version: int | None = None,
        *,
        snapshot: str | None = None,
        expected_version: int | None = None,
    ) -> Compilation:
        """Bring back an older version (by number or snapshot name) as a new version; the
        versions in between stay in the history."""
        if (version is None) == (snapshot is None):
            raise InvalidChange("give a version number or a snapshot name")

        def apply(conn: Connection, state: CompilationState) -> str:
            found = store.version_state(conn, compilation_id, version, snapshot)
            if found is None:
                raise VersionNotFound(compilation_id, version if version is not None else snapshot)  # type: ignore[arg-type]
            number, old = found
            _replace(state, old)
            return f"restore version {number}" + (f" ({snapshot})" if snapshot else "")

        return self._change(compilation_id, author, expected_version, apply)

    def accept(
        self,
        compilation_id: int,
        author: str,
        doc_id: str,
        *,
        section: str | None = None,
        note: str = "",
        expected_version: int | None = None,
    ) -> Compilation:
        """Accept a pending proposal: the document is added (a new version)."""

        def apply(conn: Connection, state: CompilationState) -> str:
            proposal = _pending(conn, compilation_id, doc_id)
            _check_section(state, section)
            state.entries.append(
                EntryState(
                    doc_id=doc_id,
                    section=section,
                    note=note,
                    title=proposal["title"],
                    added_by=author,
                    added_at=store.now(),
                )
            )
            state.excludes = [d for d in state.excludes if d != doc_id]
            if state.order_rule != "manual":
                self._sort(state)
            store.decide_proposal(conn, compilation_id, doc_id, "accepted", author)
            return f"accept proposal {doc_id}"

        return self._change(compilation_id, author, expected_version, apply)

    def reject(self, compilation_id: int, author: str, doc_id: str) -> Proposal:
        """Reject a pending proposal; it is kept as rejected, so it is not proposed again.
        Not a version of the compilation (its content does not change)."""
        _check_lengths("author name", [author])
        with self.engine.begin() as conn:
            if store.current_version(conn, compilation_id) is None:
                raise CompilationNotFound(compilation_id)
            _pending(conn, compilation_id, doc_id)
            store.decide_proposal(conn, compilation_id, doc_id, "rejected", author)
            self.audit.record(
                author,
                "compilation.proposal.reject",
                _target(compilation_id),
                {"doc_id": doc_id, "status": "pending"},
                {"doc_id": doc_id, "status": "rejected"},
                conn=conn,
            )
        return next(p for p in self.proposals(compilation_id, None) if p.doc_id == doc_id)

    # --- internals ------------------------------------------------------------------------

    def _change(
        self, compilation_id: int, author: str, expected_version: int | None, apply: Change
    ) -> Compilation:
        _check_lengths("author name", [author])
        with self.engine.begin() as conn:
            # First statement is the conditional UPDATE: it takes the row (PostgreSQL) or the
            # database (SQLite) write lock at once, so the read below cannot go stale.
            new_version = store.bump_version(conn, compilation_id, expected_version, author)
            if new_version is None:
                current = store.current_version(conn, compilation_id)
                if current is None:
                    raise CompilationNotFound(compilation_id)
                raise VersionConflict(compilation_id, expected_version or 0, current)
            state = store.load_state(conn, compilation_id)
            assert state is not None
            action = apply(conn, state)
            # Stored order = reading order (sections in turn), so a position means one thing.
            state.entries = _reading_order(state)
            store.write_state(conn, compilation_id, state)
            store.insert_version(conn, compilation_id, new_version, author, action, state)
            self.audit.record(
                author,
                "compilation.update",
                _target(compilation_id),
                {"version": new_version - 1},
                {"version": new_version, "change": action},
                conn=conn,
            )
        return self.get(compilation_id)

    def _lookup(self, doc_id: str) -> Document | None:
        return self.backend.get(doc_id) if self.backend is not None else None

    def _present(self, doc_ids: Sequence[str]) -> set[str]:
        if self.backend is None:
            return set(doc_ids)
        return {d for d in doc_ids if self.backend.get(d) is not None}

    def _titles(self, doc_ids: Sequence[str]) -> dict[str, str]:
        titles = {}
        for doc_id in doc_ids:
            doc = self._lookup(doc_id)
            if doc is not None:
                titles[doc_id] = doc.title
        return titles

    def _sort(self, state: CompilationState) -> None:
        if self.backend is None or state.order_rule == "manual":
            return
        by_id = {e.doc_id: e for e in state.entries}
        ordered = order_ids(list(by_id), state.order_rule, self._lookup)
        state.entries = [by_id[d] for d in ordered]


def _target(compilation_id: int) -> str:
    return f"compilation:{compilation_id}"


def _reading_order(state: CompilationState) -> list[EntryState]:
    """Documents outside any section first, then section by section; positions within."""
    rank = {name: i + 1 for i, name in enumerate(state.sections)}
    return sorted(state.entries, key=lambda e: rank.get(e.section or "", 0))


def _entry(state: CompilationState, compilation_id: int, doc_id: str) -> EntryState:
    for entry in state.entries:
        if entry.doc_id == doc_id:
            return entry
    raise EntryNotFound(f"document {doc_id!r} is not in compilation {compilation_id}")


def _check_section(state: CompilationState, section: str | None) -> None:
    if section is not None and section not in state.sections:
        raise EntryNotFound(
            f"no section {section!r}; sections: {state.sections or 'none yet (add one first)'}"
        )


def _check_lengths(what: str, values: Sequence[str]) -> None:
    long = [v[:40] + "..." for v in values if len(v) > store.NAME_LENGTH]
    if long:
        raise InvalidChange(f"a {what} has at most {store.NAME_LENGTH} characters: {long}")


def _check_sections(names: Sequence[str]) -> None:
    if any(not n.strip() for n in names):
        raise InvalidChange("a section needs a name")
    _check_lengths("section name", names)
    if len(set(names)) != len(names):
        raise InvalidChange("section names must be different from each other")


def _pending(conn: Connection, compilation_id: int, doc_id: str) -> dict[str, Any]:
    proposal = store.proposal_row(conn, compilation_id, doc_id)
    if proposal is None:
        raise EntryNotFound(f"no proposal of {doc_id!r} for compilation {compilation_id}")
    if proposal["status"] != "pending":
        raise InvalidChange(f"the proposal of {doc_id!r} was already {proposal['status']}")
    return proposal


def _replace(state: CompilationState, old: CompilationState) -> None:
    state.title = old.title
    state.description = old.description
    state.query = old.query
    state.status = old.status
    state.order_rule = old.order_rule
    state.sections = old.sections
    state.entries = old.entries
    state.excludes = old.excludes
