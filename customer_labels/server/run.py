"""Running granian with the settings a Heroku-like host needs."""

import socket

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


def serve(wsgi_app, *, host, port, processes, threads, connections, log_level):
    """Serve ``wsgi_app`` until SIGTERM or SIGINT: ``processes`` processes of
    ``threads`` request threads (0: requests run on the event loop), each
    holding at most ``connections`` connections. Raises ConfigError when another
    server listens on ``port`` already."""
    refuse_taken(host, port)
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
        metrics.share_across_processes()  # each forked process counts apart
    logs.share_across_processes()  # the master writes too: its lines and the workers' take turns
    server.serve(target_loader=lambda _name: bridge)


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
