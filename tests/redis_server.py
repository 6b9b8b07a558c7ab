"""A real redis-server of the tests' own, on a free port, that a test can stop,
kill, pause and start again on the same port and data directory."""

import os
import shutil
import signal
import socket
import subprocess
import time

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


def require_redis_server():
    require("redis-server", package="redis-server")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, directory, *args):
        require_redis_server()
        self.directory = directory
        self.port = free_port()
        self.args = args
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        return redis.Redis(port=self.port, decode_responses=True)

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--daemonize", "no", *self.args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait(lambda: self._answers(), "start")
        return self

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _wait(self, done, what):
        deadline = time.monotonic() + 10
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not {what}")
            time.sleep(0.02)

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
