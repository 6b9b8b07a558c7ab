"""gunicorn settings for the Procfile's web line, on a Heroku-like host.

Platforms route with a 30 s limit and send SIGKILL 30 s after SIGTERM, so both
timeouts below stay under 30 s.
"""

import os
import sys

from gunicorn.workers.gthread import ThreadWorker

from customer_labels import settings


def _checked(read):
    try:
        return read()
    except settings.ConfigError as err:
        # A SystemExit, not an exception: gunicorn prints one line, not a traceback.
        sys.exit(f"Error: {err}")


def _number(name, default, low, high):
    raw = os.environ.get(name, "").strip() or default
    return _checked(lambda: settings.whole_number(name, raw, low, high))


bind = f"0.0.0.0:{_number('PORT', '5000', 1, 65535)}"
workers = _number("WEB_CONCURRENCY", "2", 1, 64)
if _checked(settings.from_env).get("REDIS_URL", "memory://").startswith("memory:"):
    # The in-memory store lives in one process: two workers would each keep
    # their own labels, so without Redis there is exactly one.
    workers = 1


class GracefulThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, but on SIGTERM new connections are refused.

    gunicorn stops accepting on SIGTERM but keeps the listening socket open
    until its last request ends, so the kernel still completes connections
    that nobody will serve. Closing it at once makes them fail fast, and a
    platform's router sends them to another process.
    """

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            for listener in self.sockets:
                listener.close()


# Threads, so that a request waiting on Redis does not hold a whole process.
worker_class = GracefulThreadWorker
threads = _number("WEB_THREADS", "4", 1, 64)
# A request may take at most this long (the router gives up at 30 s).
timeout = 25
# On SIGTERM: stop accepting, let requests in flight finish for up to this long.
graceful_timeout = 20
keepalive = 5
# Build the app once, in the master, before forking: a bad setting then stops
# the start with one line, and no worker boots with it.
preload_app = True
# The access log: the app writes one JSON line per request to stdout (with the
# request id and the caller's role, which gunicorn cannot see), so gunicorn's
# own access log stays off rather than log each request twice.
accesslog = None
errorlog = "-"
# No control socket: nothing here uses it, and it needs a writable home.
control_socket_disable = True
