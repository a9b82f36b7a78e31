"""The fixed mmap threshold (gongkai/memory.py), observed in fresh interpreters through glibc's
own account of its mmapped blocks (mallinfo2)."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gongkai.memory import MMAP_THRESHOLD_BYTES, MMAP_THRESHOLD_VARIABLE
from search_api.cli import app

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="the threshold and mallinfo2 are glibc's"
)

# Free a 4 MiB block (glibc then raises a dynamic threshold to 4 MiB), take a 1 MiB one and
# ask glibc whether it came from mmap (one more mmapped block) or from the heap (none).
_BLOCKS_IN_A_CHILD = """
import ctypes, json, os, sys
from gongkai.memory import fix_mmap_threshold
fixed = fix_mmap_threshold() if sys.argv[1] == "fix" else None
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = MallInfo2
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)
mmapped = libc.mallinfo2().hblks - before
libc.free(block)
print(json.dumps({"mmapped": mmapped, "fixed": fixed,
                  "variable": os.environ.get("MALLOC_MMAP_THRESHOLD_")}))
"""


def blocks_in_a_child(mode: str, variable: str | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != MMAP_THRESHOLD_VARIABLE}
    if variable is not None:
        env[MMAP_THRESHOLD_VARIABLE] = variable
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKS_IN_A_CHILD, mode],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_by_default_a_freed_large_block_moves_the_threshold() -> None:
    # The measurement itself: glibc's dynamic threshold serves the 1 MiB block from the heap.
    assert blocks_in_a_child("plain")["mmapped"] == 0


def test_the_fixed_threshold_keeps_large_blocks_on_mmap_and_passes_to_children() -> None:
    result = blocks_in_a_child("fix")
    assert result == {"mmapped": 1, "fixed": True, "variable": str(MMAP_THRESHOLD_BYTES)}


def test_a_value_in_the_environment_wins() -> None:
    # 8 MiB: the 1 MiB block is below it, so it comes from the heap.
    result = blocks_in_a_child("fix", variable=str(8 << 20))
    assert result == {"mmapped": 0, "fixed": True, "variable": str(8 << 20)}


def test_gongkai_ingest_fixes_the_threshold_and_the_other_commands_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MMAP_THRESHOLD_VARIABLE, raising=False)
    monkeypatch.setenv("GONGKAI_DATA_DIR", str(tmp_path))
    status = CliRunner().invoke(app, ["index", "status", "--json"])
    assert status.exit_code == 0 and MMAP_THRESHOLD_VARIABLE not in os.environ
    ingest = CliRunner().invoke(app, ["ingest", str(REPO / "samples" / "sample_docs.jsonl")])
    assert ingest.exit_code == 0, ingest.output
    assert os.environ.get(MMAP_THRESHOLD_VARIABLE) == str(MMAP_THRESHOLD_BYTES)
