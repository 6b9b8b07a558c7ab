"""Logging: every record one JSON line on stdout, one line per request, request ids.

``configure()`` is called once per process, by the entry points (the server's
config and ``python app.py``); ``create_app`` leaves process-wide logging
alone, so tests and embedding apps keep their own.

The per-request work (request id, the log line, the headers every answer
carries) is one WSGI middleware rather than Flask hooks: it runs on every
request, so it touches only the WSGI environ, which is much cheaper.

Lines below WARNING are written in batches by a thread of their own (``Lines``):
a write to stdout is a system call, during which a request thread gives up
Python's lock and then waits to get it back from the others. Written by the
request threads, one line a request cost about a tenth of the attaches a
second (docs/performance.md).
"""

import atexit
import contextlib
import fcntl
import json
import logging
import multiprocessing.util
import os
import random
import re
import select
import sys
import tempfile
import threading
import time
import weakref
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

#: An incoming X-Request-ID is kept when it looks like an id: bounded, and no
#: spaces or control characters that could forge log lines.
#: The environ key of the request's id, for what else reports it (reports.py).
REQUEST_ID = "customer_labels.request_id"
#: Called with (environ, method, status, seconds) as each answer starts: the metrics.
ANSWERED = []
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=-]{1,128}")
#: Where auth leaves the caller's role in the WSGI environ, for the log line.
ROLE = "customer_labels.role"
#: On every answer: data for one caller, never sniffed as another type, never cached.
SAFE_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]

access_log = logging.getLogger("customer_labels.access")


def formatter():
    """The JSON formatter of every log line."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def configure(level="INFO", stream=None):
    """Send all logging, at ``level`` and up, to ``stream`` (stdout) as JSON lines."""
    handler = Lines(stream or sys.stdout)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Werkzeug's dev server logs each request in its own format; ours does it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _access.update(handler=handler)


#: The handler request lines are written through, once configure() has run.
_access = {"handler": None}


def write_line(method, path, status, duration_ms, request_id, role):
    """Log a request's line, as JSON, the way the log handler writes its own lines.

    The request line is the hot path: python-json-logger formats every other
    line, but a LogRecord and its formatting cost several times what this
    costs on every request. The values are text or None, but ``status`` (a
    whole number) and ``duration_ms`` (a finite float).
    """
    handler = _access["handler"]
    if handler is None:  # logging set up by someone else (tests, embedding): go through it
        fields = dict(method=method, path=path, status=status, durationMs=duration_ms, requestId=request_id, role=role)
        access_log.info("request", extra=fields)
        return
    handler.add(_LINE % (_json(method), _json(path), status, duration_ms, _json(request_id), _json(role), _now()))


#: Request ids need only differ, not be secret: Python's generator, which each
#: forked process seeds anew, rather than os.urandom (a system call a request).
_random_bits = random.getrandbits
#: The request line, its values filled in by ``%`` (one format, not a join of parts).
_LINE = (
    f'{{"level": "INFO", "logger": "{access_log.name}", "message": "request", "method": %s, "path": %s, '
    '"status": %d, "durationMs": %r, "requestId": %s, "role": %s, "time": "%s"}\n'
)
#: A JSON string literal of a str, escaped to ASCII (the json module's own C function).
_quote = json.encoder.encode_basestring_ascii


def _json(value):
    if value is None:
        return "null"
    return _quote(value) if isinstance(value, str) else repr(value)


_second = [None, ""]  # the last whole second seen, and its ISO 8601 text


def _now():
    """The time as datetime.isoformat() writes it in UTC, the second's text made once a second."""
    now = time.time()
    whole = int(now)
    if whole != _second[0]:
        _second[:] = whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{_second[1]}.{int((now - whole) * 1_000_000):06d}+00:00"


def init_app(app):
    app.wsgi_app = RequestLog(app.wsgi_app)


class RequestLog:
    """WSGI middleware: gives every request an id, echoes it, adds the safe
    headers, and logs one line when the answer starts."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else f"{_random_bits(128):032x}"
        environ[REQUEST_ID] = request_id
        method, path = environ.get("REQUEST_METHOD"), environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-ID", request_id))
            headers.extend(SAFE_HEADERS)
            for answered in ANSWERED:
                answered(environ, method, status[:3], time.perf_counter() - started)
            if access_log.isEnabledFor(logging.INFO):
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                write_line(method, path, int(status[:3]), duration_ms, request_id, environ.get(ROLE))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


#: Seconds the writer waits after writing a batch, so that lines arriving meanwhile
#: go out together; a line that finds the writer idle goes out at once.
BATCH_SECONDS = 0.05
#: Lines held at most: a line that finds this many waiting (stdout blocked or slow)
#: is written by its own thread, with all of them, so memory stays bounded.
MAX_WAITING = 2000
#: Seconds an idle writer thread waits before it ends (a new one starts with the next line).
IDLE_SECONDS = 10

_all_lines = weakref.WeakSet()


class Lines(logging.StreamHandler):
    """A stream handler whose lines below WARNING are written by a thread of its own,
    in batches; WARNING and up are written at once, after every line before them.

    Nothing waits for long: a line finding the writer idle is written within about a
    millisecond, and under load within BATCH_SECONDS. ``flush()`` writes what is
    waiting, and is called when the process ends: at exit (logging's own shutdown),
    when a server process stops (multiprocessing's exit), and before a fork. A process
    killed outright (SIGKILL) loses the lines of its last BATCH_SECONDS at most.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._reset()
        _all_lines.add(self)

    def _reset(self):
        self._waiting = []
        self._guard = threading.Lock()  # held for list operations only, never across a write
        self._wake = threading.Event()
        self._writer = None

    def handle(self, record):
        # Without the handler's lock, which a write holds: a line below WARNING only
        # joins the list (emit takes the lock itself where it writes).
        kept = self.filter(record)
        if kept:
            self.emit(kept if isinstance(kept, logging.LogRecord) else record)
        return kept

    def emit(self, record):
        try:
            text = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 (logging's own rule: a bad record never raises)
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            self._write(text)
        else:
            self.add(text)

    def add(self, text):
        """Queue ``text`` (whole lines) for the writer thread."""
        with self._guard:
            self._waiting.append(text)
            full = len(self._waiting) >= MAX_WAITING
            if len(self._waiting) == 1:
                self._wake.set()
            writer = None
            if self._writer is None:
                writer = self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
        if writer is not None:
            try:
                writer.start()
            except RuntimeError:  # the interpreter is ending and starts no thread: write it now
                self._writer = None
                full = True
        if full:
            self.flush()

    def flush(self):
        """Write every line waiting, then flush the stream."""
        self._write("")

    def _write(self, last):
        with self.lock:  # one writer at a time keeps the order of the lines
            with self._guard:
                lines = self._waiting
                self._waiting = []
                self._wake.clear()
            if last:
                lines.append(last)
            try:
                with _one_process_at_a_time():
                    for chunk in _whole_lines(lines):
                        self.stream.write(chunk)
                        super().flush()  # each piece its own write
                    if not lines:
                        super().flush()
            except (OSError, ValueError):  # stdout closed or gone: nothing can be written
                pass

    def _run(self):
        while True:
            if not self._wake.wait(IDLE_SECONDS):
                with self._guard:
                    if not self._waiting:
                        self._writer = None
                        return
            self.flush()
            time.sleep(BATCH_SECONDS)


#: The environment variable naming the file whose lock a server's processes take
#: around their writes to the stdout they share (``share_across_processes``).
SHARED_LOCK = "CUSTOMER_LABELS_LOG_LOCK"
_lock_file = {"pid": None, "fd": None}


def share_across_processes(port):
    """Make the processes of this server (forked after this call) write to stdout one at
    a time. Why: a write of more than PIPE_BUF bytes to a pipe (a request line of a long
    URL, a traceback) can be split by the kernel when the pipe is full, and another
    process's write can land between its pieces, cutting a line in two. The lock is a
    POSIX record lock on a file: the kernel drops it when its process dies, so a killed
    process never leaves the others waiting. The file's name holds the server's ``port``:
    a killed server's is removed by the next server to start (server/run.py)."""
    if not os.environ.get(SHARED_LOCK):
        handle, path = tempfile.mkstemp(prefix=f"customer-labels-log-{port}-", suffix=".lock")
        os.close(handle)
        os.environ[SHARED_LOCK] = path
        atexit.register(_remove, path)


def _remove(path):
    with contextlib.suppress(OSError):
        os.remove(path)


@contextlib.contextmanager
def _one_process_at_a_time():
    """The shared lock held, where the server's processes share one (or nothing held)."""
    path = os.environ.get(SHARED_LOCK)
    if not path:
        yield
        return
    if _lock_file["pid"] != os.getpid():  # each process its own descriptor (and lock)
        try:
            _lock_file.update(pid=os.getpid(), fd=os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError:
            _lock_file.update(pid=os.getpid(), fd=None)
    fd = _lock_file["fd"]
    if fd is None:  # the file is gone: write as a single process would
        yield
        return
    fcntl.lockf(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)


def _whole_lines(lines):
    """``lines`` joined into pieces of whole lines, each at most PIPE_BUF long where its
    lines allow: a write of up to PIPE_BUF bytes to a pipe is never interleaved with
    another's. Longer lines are kept whole by the lock the processes share
    (``share_across_processes``)."""
    piece, size = [], 0
    for line in lines:
        if piece and size + len(line) > select.PIPE_BUF:
            yield "".join(piece)
            piece, size = [], 0
        piece.append(line)
        size += len(line)
    if piece:
        yield "".join(piece)


def flush():
    """Write the lines every handler holds."""
    for lines in list(_all_lines):
        lines.flush()


def _forked():
    # The parent wrote what was waiting (before the fork); the child starts empty,
    # with its own writer once it writes.
    for lines in list(_all_lines):
        lines._reset()


def _flush_at_exit(_lines):
    # A process that multiprocessing forks (the server's) leaves with os._exit, so
    # neither atexit nor logging's shutdown runs there: its own exit hooks do.
    multiprocessing.util.Finalize(None, flush, exitpriority=0)


os.register_at_fork(before=flush, after_in_child=_forked)
multiprocessing.util.register_after_fork(_all_lines, _flush_at_exit)
