"""Run the `gongkai` command as a user would: a real subprocess with its own data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_gongkai(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``gongkai ARGS`` with GONGKAI_DATA_DIR=data_dir and extra environment ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "search_api", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "GONGKAI_DATA_DIR": str(data_dir), **env},
        timeout=300,
        check=False,
    )
