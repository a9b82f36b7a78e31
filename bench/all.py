"""Every benchmark in turn, then one summary: each script's table under its name.

Scripts run one after another in their own processes (the machine has 2 cores: running them
side by side would measure each other). Missing optional scripts are skipped.

    python bench/all.py [--quick] [--opensearch-url URL | --start-opensearch]

--quick runs each script once on smaller corpora (a smoke test of the scripts, not figures).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO

# (script, arguments for a full run, arguments for --quick); OpenSearch flags are added to
# the scripts that take them.
SCRIPTS: list[tuple[str, list[str], list[str], bool]] = [
    ("analysis_speed.py", [], ["--runs", "1", "--docs", "300", "--baseline-docs", "50"], False),
    ("ingest.py", [], ["--runs", "1", "--docs", "2000", "--enrich-docs", "300"], True),
    ("api.py", [], ["--runs", "1", "--docs", "2000", "--requests", "300", "--seconds", "10"], True),
    ("cold_start.py", [], ["--runs", "1", "--docs", "2000"], False),
    ("topics.py", [], ["--runs", "1", "--sizes", "2000", "--skip-baseline", "--new", "100"], False),
    ("export.py", [], ["--docs", "500"], False),
    ("ingest_search.py", [], ["--runs", "1"], True),
    ("crawl.py", [], ["--runs", "1"], False),
    ("load.py", [], ["--seconds", "10", "--users", "4"], False),
    ("auth_limits.py", [], ["--runs", "1", "--requests", "100"], False),
    ("compilation_edits.py", [], ["--runs", "1", "--sizes", "100"], False),
]


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (
        f"{platform.node()}: {cpu}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}, load average {' '.join(load)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--opensearch-url")
    parser.add_argument("--start-opensearch", action="store_true")
    parser.add_argument("--only", nargs="*", help="script names to run (default: all)")
    args = parser.parse_args()

    node = None
    url = args.opensearch_url
    if args.start_opensearch and not url:
        from tests.engine.node import start_node

        node = start_node()
        url = node.url
    results: list[tuple[str, float, int, str]] = []
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        for script, full, quick, takes_opensearch in SCRIPTS:
            path = REPO / "bench" / script
            if not path.exists() or (args.only and script not in args.only):
                continue
            command = [sys.executable, str(path), *(quick if args.quick else full)]
            if url and takes_opensearch:
                command += ["--opensearch-url", url]
            print(f"== {script}: {' '.join(command[2:])}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            output = done.stdout if done.returncode == 0 else done.stdout + done.stderr[-2000:]
            results.append((script, seconds, done.returncode, output.rstrip()))
            print(output, file=sys.stderr, flush=True)
    finally:
        if node is not None:
            node.stop()

    print(f"# Benchmarks, {started_at}\n{machine()}\n")
    for script, seconds, code, output in results:
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"## {script} ({seconds:,.0f} s, {status})\n{output}\n")
    if any(code for _, _, code, _ in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
