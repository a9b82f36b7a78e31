#!/usr/bin/env bash
# The main job on the embedded default: install into .venv, ingest the sample corpus, discover
# its topics, serve the search pages and API on http://127.0.0.1:8000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
# The native analyser (native/, Rust via maturin; ~1 min to build from scratch): the same
# tokens as the pure-Python path, which stays in use wherever it is not installed.
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"  # rustup's cargo
.venv/bin/pip install --quiet ./native
.venv/bin/pip install --quiet -e .

export GONGKAI_DATA_DIR="${GONGKAI_DATA_DIR:-.gongkai}"
.venv/bin/gongkai ingest samples/sample_docs.jsonl
.venv/bin/gongkai search 最低生活保障 --limit 3
.venv/bin/gongkai topics build --k 6
exec .venv/bin/gongkai serve --host 127.0.0.1 --port "${GONGKAI_PORT:-8000}"
