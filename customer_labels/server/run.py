"""Running granian with the settings a Heroku-like host needs."""

import atexit
import contextlib
import fcntl
import os
import re
import shutil
import socket
import tempfile

from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.server import Server

from .. import logs, metrics
from ..settings import ConfigError
from ..store import sweep_now_and_then
from .bridge import Bridge

#: Milliseconds a connection may take to send a request's headers, and may sit
#: idle between requests, before it is closed.
HEADER_MILLISECONDS = 10_000
#: Bytes of request line and headers granian buffers (about: a longer line is a
#: 414, more headers a 431; it also refuses more than 100 headers).
HEADER_BYTES = 64 * 1024
#: Seconds a stopping process waits for requests in flight (platforms send
#: SIGKILL 30 s after SIGTERM).
STOP_SECONDS = 20
#: The file whose lock (flock) a server holds for its life on its port (``claim_port``).
PORT_LOCK = os.path.join(tempfile.gettempdir(), "customer-labels-port-{port}.lock")
#: What a server leaves in the temporary directory, each name holding its port: the
#: port's lock file, the metrics directory (``metrics.share_across_processes``) and the
#: log lock (``logs.share_across_processes``). Removed at a clean exit; what a killed
#: server left, the next server to start removes (``_remove_leftovers``).
LEFTOVER = re.compile(r"customer-labels-(?:port-(\d+)\.lock|(?:metrics|log)-(\d+)-.+)")
#: Ports this process has claimed: their lock files' descriptors, held until it ends.
_claimed = {}


def serve(wsgi_app, *, host, port, processes, threads, connections, log_level):
    """Serve ``wsgi_app`` until SIGTERM or SIGINT: ``processes`` processes of
    ``threads`` request threads (0: requests run on the event loop), each
    holding at most ``connections`` connections. Raises ConfigError when another
    server has ``port`` already (``claim_port``)."""
    claim_port(host, port)
    logs.configure(log_level)
    bridge = Bridge(wsgi_app, threads=threads, processes=processes)
    server = Server(
        "customer_labels",  # a name only: the loader below hands over the app
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=processes,
        # HTTP/1.1 only: granian's automatic mode never closes a connection
        # that sends nothing at all.
        http=HTTPModes.http1,
        websockets=False,
        loop=Loops.uvloop,
        backpressure=connections,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_MILLISECONDS, max_buffer_size=HEADER_BYTES),
        log_level=log_level.lower(),
        # Levels only: granian's own lines go to the root logger set up above,
        # which writes JSON to stdout, in every process.
        log_dictconfig={"version": 1, "incremental": True, "formatters": {}, "handlers": {}, "loggers": {}},
        respawn_failed_workers=True,
        workers_kill_timeout=STOP_SECONDS,
    )
    # One sweeper per server, in this process: the request processes are forked
    # from it (each starts with the app made here) and do only requests.
    sweep_now_and_then(wsgi_app)
    if processes > 1:
        metrics.share_across_processes(port)  # each forked process counts apart
    logs.share_across_processes(port)  # the master writes too: its lines and the workers' take turns
    server.serve(target_loader=lambda _name: bridge)


def claim_port(host, port):
    """Raise ConfigError unless this process may serve on ``host:port``; once it may, no
    other server of this service can claim the port until this process and its
    children end. A second call in the same process does nothing.

    Why a lock as well as ``refuse_taken``: between checking that nothing listens and
    listening, a second server started at the same moment (parallel test suites each
    starting a mock on one port) would pass the check too, and with SO_REUSEPORT both
    would serve. The lock closes that gap; the kernel lets go of it when its holders
    end, however they end. It is per machine, in the temporary directory (TMPDIR); a
    lock file this user may not open leaves the check to ``refuse_taken`` alone.
    """
    if port in _claimed:
        return
    path = PORT_LOCK.format(port=port)
    lock = _lock(path, port)
    try:
        refuse_taken(host, port)
    except ConfigError:
        if lock is not None:
            os.close(lock)
        raise
    if lock is not None:
        atexit.register(_unlink, path, os.getpid())
        _remove_leftovers(port)
    _claimed[port] = lock


def _lock(path, port):
    """The descriptor holding the lock on ``path``, or None where it cannot be opened.

    The file is removed when the claiming process exits (not when it is killed: the
    next claim takes the file as it is). A claim that locked a file removed meanwhile
    tries again on the new one, so that two claims never hold two files of one port.
    """
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            message = f"{port} is taken: another server of this service is starting or serving there"
            raise ConfigError("PORT", message) from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)  # the file was removed after it was opened: lock the new one


def _remove_leftovers(port):
    """Remove what servers that were killed (SIGKILL, a lost host) left in the temporary
    directory: each port's lock file that no process holds, and, for those ports and
    ``port`` (claimed by this process), the metrics directories and log locks. A port's
    lock is held for its server's life, so what is named for a port nobody holds belongs
    to no live server. Why: a server that is killed runs no exit hook, and a host (or a
    test suite) that kills servers often would fill the directory."""
    directory = tempfile.gettempdir()
    try:
        names = os.listdir(directory)
    except OSError:  # a directory this user may write to but not list: left as it is
        return
    free = {port}
    for name in names:
        found = LEFTOVER.fullmatch(name)
        if found and found[1] and int(found[1]) != port:
            path = os.path.join(directory, name)
            with contextlib.suppress(OSError), open(path, "rb") as file:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(path)  # while locked: a claim that opened it meanwhile tries again
                free.add(int(found[1]))
    for name in names:
        found = LEFTOVER.fullmatch(name)
        if found and found[2] and int(found[2]) in free:
            path = os.path.join(directory, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def _unlink(path, pid):
    """Remove a claimed port's file at exit, while its lock is still held."""
    if os.getpid() == pid:  # the claiming process, not a forked one that inherited the hook
        with contextlib.suppress(OSError):
            os.unlink(path)


def refuse_taken(host, port):
    """Raise ConfigError when something listens on ``host:port`` already.

    Why: granian's processes each bind with SO_REUSEPORT, so a second server on a
    taken port would start without a word and share its connections: two mocks,
    each with its own state, answering at random. A plain bind (SO_REUSEADDR only,
    so that the last run's closing connections do not count) fails where any socket
    listens.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            message = f"{port} is taken on {host}, another server listens there ({err.strerror})"
            raise ConfigError("PORT", message) from None
