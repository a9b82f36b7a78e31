"""Cold start: seconds from launching `gongkai serve` to its first successful /search, on a
100k-document embedded index, beside a bare FastAPI + uvicorn app answering one route (the
floor any Python web server pays), and the modules that cost most to import at start-up.

    python bench/cold_start.py [--runs 5] [--docs 100000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO, built_index, print_table, summary

BARE_APP = """
import sys
from fastapi import FastAPI
import uvicorn
app = FastAPI()
@app.get("/search")
async def search(q: str = "") -> dict[str, str]:
    return {"q": q}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def time_to_first_search(command: list[str], port: int, env: dict[str, str]) -> float:
    import httpx

    started = time.perf_counter()
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - started < 120:
            if server.poll() is not None:
                raise RuntimeError(f"{command} exited with {server.returncode}")
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/search", params={"q": "最低生活保障"}, timeout=10
                )
                if response.status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"{command} did not answer within 120 s")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def slowest_imports(module: str, top: int = 12) -> list[tuple[str, float]]:
    """(module, cumulative seconds) of the costliest imports under ``module``
    (``python -X importtime``), outermost first among equals."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((match.group(3), int(match.group(1)) / 1e6, len(match.group(2))))
    # Outer packages only (indent <= 6): the names a reader can act on.
    outer = [(name, secs) for name, secs, depth in rows if depth <= 6]
    return sorted(outer, key=lambda item: -item[1])[:top]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--docs", type=int, default=100_000)
    args = parser.parse_args()

    folder = built_index(args.docs)
    env = {**os.environ, "GONGKAI_DATA_DIR": str(folder), "GONGKAI_RATE_LIMIT_SEARCH": ""}
    ways = {
        "bare FastAPI + uvicorn (floor)": lambda port: [
            sys.executable,
            "-c",
            BARE_APP,
            str(port),
        ],
        f"gongkai serve, {args.docs:,} docs": lambda port: [
            sys.executable,
            "-m",
            "search_api",
            "serve",
            "--port",
            str(port),
        ],
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.runs):
        for name, command in ways.items():
            port = free_port()
            seconds[name].append(time_to_first_search(command(port), port, env))
    print_table(
        ("server", "seconds to first /search"),
        [(name, summary(runs)) for name, runs in seconds.items()],
    )
    print(f"(median [min-max] over {args.runs} runs)")
    print("\nslowest imports of search_api.app (cumulative seconds, one run):")
    for name, secs in slowest_imports("search_api.app"):
        print(f"  {secs:6.2f}  {name}")


if __name__ == "__main__":
    main()
