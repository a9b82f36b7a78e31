"""How a gongkai process asks the C allocator to keep its memory: large blocks always straight
from the operating system and back (a fixed mmap threshold in glibc's malloc).

glibc serves blocks of 128 KiB or more with mmap and unmaps them when freed, but each such
free raises that threshold (up to 32 MiB), and from then on blocks of that size come from the
heaps, where they fragment. In a `gongkai ingest` (batches handed between threads, the
outbox, the engine's buffers; which blocks exactly was not traced) anonymous memory grew with
the corpus although nothing is kept from one batch to the next: 316-397 MB at 25,000 documents,
607-667 MB at 100,000. With the threshold fixed at glibc's starting value it stays at 302-309
and 329-338 MB, at about the same speed: -3% to +2% in the four pairs of runs
(bench/ingest.py: "cli ingest, glibc's default" beside "cli ingest", twice two runs each).

The commands that ingest (`gongkai ingest`, `gongkai crawl`) make the setting, never an
import: it holds for the whole process. The server does not: with it, searches per second
fell ~3%, presumably because each large block of a search then costs an mmap of its own
(bench/api.py, questions, two server processes, alternated runs: 259.9 and 260.0 without,
252.6 and 254.1 with).
"""

from __future__ import annotations

import ctypes
import os

# glibc's own starting value: 128 KiB.
MMAP_THRESHOLD_BYTES = 128 * 1024
# glibc's environment variable (read at process start: processes this one starts get the
# setting) and its mallopt() parameter (for this process, which has started already).
MMAP_THRESHOLD_VARIABLE = "MALLOC_MMAP_THRESHOLD_"
_M_MMAP_THRESHOLD = -3


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Serve blocks of ``threshold`` bytes or more with mmap for good, in this process and the
    processes it starts (its analysis workers, say). A ``MALLOC_MMAP_THRESHOLD_`` already in
    the environment is the user's choice and wins.

    Returns whether a fixed threshold is in force: False on a C library other than glibc.
    """
    libc = _glibc()
    if libc is None:
        return False
    if MMAP_THRESHOLD_VARIABLE in os.environ:
        return True  # glibc read it when this process started
    if libc.mallopt(_M_MMAP_THRESHOLD, threshold) != 1:
        return False
    os.environ[MMAP_THRESHOLD_VARIABLE] = str(threshold)
    return True


def _glibc() -> ctypes.CDLL | None:
    """The C library this process runs on, if it is glibc (the threshold is glibc's)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - no dynamic C library (e.g. a static build)
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc
