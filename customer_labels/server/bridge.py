"""The WSGI app served over granian's RSGI interface, each body read whole first.

Why not granian's own WSGI interface: it reads a request's body inside the
request's thread, so a client that sends its body slowly holds that thread.
Here the body is read on the event loop, where a waiting client costs only
memory, and the app runs only once the whole request is in hand. The same
step holds the body limit for every framing (Content-Length, chunked, or
neither) and the deadline for the body to arrive.

A body that cannot be taken is not passed on: the app is called with the
problem in ``BODY_PROBLEM`` and answers it before any view runs, so the answer
has the usual problem+json form, headers and log line.

The app runs on a pool of threads (``threads``), so that a request waiting on
Redis does not hold the process; or, with ``threads=0``, on the event loop
itself, which is faster when requests never wait (the in-memory store).
"""

import asyncio
import io
import queue
import sys
import threading
import time

from ..problems import DETAILS
from ..settings import MAX_BODY_BYTES
from . import ARRIVED, BODY_BOUNDED, BODY_PROBLEM, DEFERRED_WAIT

#: Seconds the whole body may take to arrive once the headers have.
BODY_SECONDS = 10
TOO_LARGE = (413, DETAILS[413])
TOO_SLOW = (408, f"The request body did not arrive within {BODY_SECONDS} s.")
CUT_SHORT = (400, "The request body ended before it was complete.")
BAD_LENGTH = (400, "The Content-Length header must be one whole number.")
#: How long a cut answer's stream stays open after its last bytes, so that granian
#: writes them out before it closes the connection (ended at once, under load the
#: connection sometimes closed with nothing sent).
CUT_FLUSH_SECONDS = 0.05
#: Added to the answer when the rest of a body is left unread: the connection
#: cannot carry another request.
CLOSE = ("Connection", "close")


class Cut(bytes):
    """The part of an answer's body made before the app's body iterator failed: the
    answer goes out that far and the connection is closed, as WSGI servers do (the
    mock's fault rules drop connections this way)."""


class Bridge:
    """An RSGI app (granian's interface) that runs the WSGI app ``wsgi_app``."""

    def __init__(self, wsgi_app, threads, processes=1):
        self.wsgi_app = wsgi_app
        self.threads = threads
        self.multiprocess = processes > 1
        self.loop = self.jobs = None

    # granian calls these in each worker process, with its event loop.
    def __rsgi_init__(self, loop):
        self.loop = loop
        if self.threads:
            # A queue and plain threads rather than an executor: fewer objects
            # and hand-offs per request (measured: docs/performance.md).
            self.jobs = queue.SimpleQueue()
            for number in range(self.threads):
                threading.Thread(target=self._work, name=f"request-{number + 1}", daemon=True).start()

    def __rsgi_del__(self, loop):
        for _ in range(self.threads):
            self.jobs.put(None)

    async def __rsgi__(self, scope, protocol):
        if scope.proto != "http":  # websockets are off: nothing else arrives
            return
        arrived = time.monotonic()
        headers = scope.headers
        body, problem = b"", None
        if "content-length" in headers or "transfer-encoding" in headers:
            body, problem = await _read_body(protocol, headers)
        environ = self.environ(scope, headers, body, problem)
        environ[ARRIVED] = arrived
        if self.jobs is None:
            status, answer_headers, answer = self.call(environ)
        else:
            done = self.loop.create_future()
            self.jobs.put((done, environ))
            status, answer_headers, answer = await done
        if problem is not None:
            answer_headers.append(CLOSE)
        if environ[DEFERRED_WAIT]:
            await asyncio.sleep(sum(environ[DEFERRED_WAIT]))
        if isinstance(answer, Cut):
            # A body promised longer than what is sent: granian closes the connection
            # when the stream ends short of it (it needs one byte to start a stream).
            sent = bytes(answer) or b" "
            answer_headers = [(k, v) for k, v in answer_headers if k.lower() != "content-length"]
            stream = protocol.response_stream(status, [*answer_headers, ("Content-Length", str(len(sent) + 1))])
            await stream.send_bytes(sent)
            await asyncio.sleep(CUT_FLUSH_SECONDS)
            return
        protocol.response_bytes(status, answer_headers, answer)

    def _work(self):
        """A request thread: run each request it is handed, and hand the answer back."""
        call, finish, jobs, loop = self.call, _finish, self.jobs, self.loop
        while (job := jobs.get()) is not None:
            done, environ = job
            try:
                answer = call(environ)
            except BaseException as err:  # noqa: BLE001 (Flask answers errors itself; this is a last resort)
                answer = err
            loop.call_soon_threadsafe(finish, done, answer)

    def environ(self, scope, headers, body, problem):
        """The WSGI environ (PEP 3333) of a request; the process's own environment stays out."""
        server, _, server_port = scope.server.rpartition(":")
        path = scope.path
        environ = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            # PEP 3333: text as its bytes read as latin-1 (granian hands over UTF-8 text).
            "PATH_INFO": path if path.isascii() else path.encode().decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": server,
            "SERVER_PORT": server_port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": scope.client.rpartition(":")[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            BODY_BOUNDED: True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": bool(self.threads),
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.run_once": False,
            DEFERRED_WAIT: [],
        }
        for name, value in headers.items():
            if "_" in name:
                # X_Request_ID would pose as X-Request-ID in the environ: such
                # names are dropped, as gunicorn and nginx do.
                continue
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = f"{environ[key]}, {value}" if key in environ else value
        content_type = environ.pop("HTTP_CONTENT_TYPE", None)
        if content_type is not None:
            environ["CONTENT_TYPE"] = content_type
        # The body is whole whatever its framing: the app sees its true length.
        environ.pop("HTTP_CONTENT_LENGTH", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["CONTENT_LENGTH"] = str(len(body))
        if problem is not None:
            environ[BODY_PROBLEM] = problem
        return environ

    def call(self, environ):
        """Run the WSGI app: (status, headers, body)."""
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = int(status[:3]), headers

        chunks = self.wsgi_app(environ, start_response)
        parts = []
        try:
            parts.extend(chunks)
            answer = b"".join(parts)
        except Exception:  # noqa: BLE001 (the answer has started: it can only be cut off)
            answer = Cut(b"".join(parts))
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return started[0], started[1], answer


def _finish(done, answer):
    if done.cancelled():  # the client went away
        return
    if isinstance(answer, BaseException):
        done.set_exception(answer)
    else:
        done.set_result(answer)


async def _read_body(protocol, headers):
    """(body, None), or (b"", problem) when the body is too large, too slow or cut short."""
    # With both headers the body is chunked (RFC 9112, 6.3), and only the chunks bound it.
    length = None if "transfer-encoding" in headers else headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            return b"", BAD_LENGTH
        if int(length) > MAX_BODY_BYTES:
            return b"", TOO_LARGE
    try:
        async with asyncio.timeout(BODY_SECONDS):
            if length is not None:
                # Never more than Content-Length; raises if the client stops short.
                return await protocol(), None
            return await _read_chunked(protocol)
    except TimeoutError:
        return b"", TOO_SLOW
    except RuntimeError:  # granian's RSGIProtocolClosed: the body ended early
        return b"", CUT_SHORT


async def _read_chunked(protocol):
    """A chunked body, up to the limit.

    granian's chunk iterator ends with one empty chunk; a stream that broke
    (the client stopped mid-body) yields an extra empty chunk first, and so do
    trailers, which this API does not take either. tests/test_server.py pins
    this down.
    """
    parts, size, empty = [], 0, 0
    async for chunk in protocol:
        if not chunk:
            empty += 1
            continue
        if empty:
            return b"", CUT_SHORT
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", TOO_LARGE
        parts.append(chunk)
    if empty != 1:
        return b"", CUT_SHORT
    return b"".join(parts), None
