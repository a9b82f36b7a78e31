#!/usr/bin/env bash
# Starts Debian's PostgreSQL on 127.0.0.1 for the tests (installing it if missing) and prints
# the admin URL the tests use (GONGKAI_TEST_DATABASE_URL). Idempotent.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null; then
    apt-get update -q >&2 && apt-get install -y -q postgresql >&2
fi
version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $2}')
if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    cluster=main
    pg_createcluster "$version" "$cluster" >&2
fi
pg_ctlcluster "$version" "$cluster" start >&2 2>/dev/null || true
port=$(pg_lsclusters -h | awk -v c="$cluster" '$2 == c {print $3}')
runuser -u postgres -- psql -q -p "$port" -c "ALTER USER postgres PASSWORD 'gongkai-test'" >&2
echo "postgresql+psycopg://postgres:gongkai-test@127.0.0.1:${port}/postgres"
