#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine and runs the whole suite:
# lint, types, then pytest (which starts and stops a real OpenSearch node itself).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive: Java and Maven fetch and run the OpenSearch node
# (tests/engine/pom.xml); Chromium for the browser tests; a CJK font for pictures and PDFs;
# PostgreSQL for the relational-database tests.
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v chromium >/dev/null || missing+=(chromium)
fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing+=(fonts-noto-cjk fontconfig)
command -v pg_lsclusters >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q && apt-get install -y -q "${missing[@]}"
fi
GONGKAI_TEST_DATABASE_URL="$(bash scripts/postgres.sh)"
export GONGKAI_TEST_DATABASE_URL

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
# The native analyser (native/, Rust via maturin; ~1 min to build from scratch): the same
# tokens as the pure-Python path, which stays in use wherever it is not installed.
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"  # rustup's cargo
.venv/bin/pip install --quiet ./native
.venv/bin/pip install --quiet -e ".[dev]"
(cd tests/engine && mvn -q -B dependency:copy-dependencies -DoutputDirectory=target/lib)

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"
