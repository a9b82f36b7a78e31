"""Errors of curated compilations; each says what the user can do about it.

``http_status`` is what the API answers with (the routes map it to problem+json); the CLI
prints the message and exits 1.
"""

from __future__ import annotations

from gongkai.errors import GongkaiError


class CompilationError(GongkaiError):
    """Base class; a request the compilation cannot carry out as asked."""

    http_status = 400


class CompilationNotFound(CompilationError):
    http_status = 404

    def __init__(self, compilation_id: int) -> None:
        super().__init__(f"no compilation with id {compilation_id}")
        self.compilation_id = compilation_id


class VersionNotFound(CompilationError):
    http_status = 404

    def __init__(self, compilation_id: int, version: int | str) -> None:
        super().__init__(f"compilation {compilation_id} has no version {version!r}")


class EntryNotFound(CompilationError):
    """A document, section or proposal the compilation does not have."""

    http_status = 404


class VersionConflict(CompilationError):
    """Someone else changed the compilation since the caller read it: re-read and retry."""

    http_status = 409

    def __init__(self, compilation_id: int, expected: int, current: int) -> None:
        super().__init__(
            f"compilation {compilation_id} was changed by someone else: you edited version "
            f"{expected}, it is now at version {current}; re-read it and apply your change again"
        )
        self.compilation_id = compilation_id
        self.expected = expected
        self.current = current


class InvalidChange(CompilationError):
    """A change that does not make sense (unknown section, bad order rule, ...)."""

    http_status = 422
