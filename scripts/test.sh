#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine and runs the whole suite:
# lint, types, then pytest (which starts and stops a real OpenSearch node itself).
set -euo pipefail
cd "$(dirname "$0")/.."

# Java and Maven fetch and run the OpenSearch node (tests/engine/pom.xml).
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    apt-get update -q && apt-get install -y -q openjdk-17-jre-headless maven
fi

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e ".[dev]"
(cd tests/engine && mvn -q -B dependency:copy-dependencies -DoutputDirectory=target/lib)

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"
