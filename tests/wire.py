"""Talking HTTP/1.1 over a raw socket, as hostile and slow clients do: the
helpers of tests/test_server.py."""

import json
import socket
import threading
import time

from .conftest import TOKENS


def connect(port, timeout=5):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def request_bytes(method, path, headers=(), body=b"", framing="length"):
    """One request's bytes; ``framing`` is "length", "chunked" or "none" (no header for the body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: test"]
    lines += [f"{name}: {value}" for name, value in headers]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if framing == "chunked":
        return head + chunked(body)
    return head + body


def chunked(body, size=4096):
    """``body`` in chunks of ``size`` bytes, with the last, empty chunk."""
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def auth(role="editor"):
    return [("Authorization", f"Bearer {TOKENS[role]}")]


class Answer:
    """A response read off the wire: status, headers (lower-case names) and body."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Answer {self.status} {self.headers} {self.body[:200]!r}>"


def read_answer(sock):
    """The next response on ``sock``; None when the server closed it without one."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Answer(int(status_line.split()[1]), headers, rest[:length])


def exchange(port, raw, timeout=5):
    """Send ``raw`` on a new connection and read the answer."""
    with connect(port, timeout) as sock:
        sock.sendall(raw)
        return read_answer(sock)


def closed_after(sock, limit):
    """Seconds until the server closes ``sock`` (reading whatever it sends), or None within ``limit``."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


class Trickle(threading.Thread):
    """A connection that sends ``head``, then ``drip`` one byte every ``every``
    seconds, then nothing until closed. Alive while it has not met an error."""

    def __init__(self, port, head, drip=b"", every=2.0):
        super().__init__(daemon=True)
        self.sock = connect(port, timeout=60)
        self.head, self.drip, self.every = head, drip, every
        self.stop = threading.Event()

    def run(self):
        try:
            self.sock.sendall(self.head)
            for byte in self.drip:
                if self.stop.wait(self.every):
                    return
                self.sock.sendall(bytes([byte]))
            self.stop.wait()  # and then stay connected until closed
        except OSError:  # the server closed it: what a deadline does
            pass

    def close(self):
        self.stop.set()
        self.sock.close()
