"""Make the embedded engine unavailable for real: another process holds tantivy's writer lock.

tantivy allows one `IndexWriter` per index directory (a lock file); while a second process
holds it, every write of ours fails with LockBusy, exactly as during a concurrent CLI ingest.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HOLDER = """
import sys, tantivy
writer = tantivy.Index.open(sys.argv[1]).writer(15_000_000, 1)
print("locked", flush=True)
sys.stdin.read()  # hold the lock until our parent closes stdin
"""


class WriterLock:
    """A child process holding the writer lock of the live index under ``index_dir``."""

    def __init__(self, index_dir: Path, alias: str = "gongkai-docs") -> None:
        # The embedded engine's layout: `<alias>.current` names the live index directory.
        live = (index_dir / f"{alias}.current").read_text(encoding="utf-8").strip()
        self.path = index_dir / live
        self.process: subprocess.Popen[str] | None = None

    def acquire(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "locked":
            self.release()
            raise RuntimeError(f"the lock holder did not take the writer lock: {line!r}")

    def release(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)
            if process.stdout is not None:
                process.stdout.close()


@contextmanager
def writer_locked(index_dir: Path, alias: str = "gongkai-docs") -> Iterator[WriterLock]:
    lock = WriterLock(index_dir, alias)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
