"""The HTTP server: granian, serving the WSGI app through ``bridge.Bridge``.

``python -m customer_labels.server`` is the Procfile's web line (``run.serve``);
``python app.py`` serves the local mock through the same server. What each bound
is for: the README's Serving section; why granian: docs/performance.md.

The keys below are how the server and the app talk through the WSGI environ.
"""

#: A problem the server found with a request's body, as (status, detail): the
#: app answers it before any view runs (see problems.py).
BODY_PROBLEM = "customer_labels.body_problem"
#: A list the app may append seconds to: the server holds the answer back that
#: long without holding a thread (the mock's Prefer: delay and MOCK_LATENCY_MS).
DEFERRED_WAIT = "customer_labels.deferred_wait"
#: When the request's headers arrived (``time.monotonic()``): on a cluster, a read of
#: the catalogue's version sent after it serves the request (store/cluster.py).
ARRIVED = "customer_labels.arrived"
#: Set when the body in ``wsgi.input`` is whole and within the body limit, for every
#: framing: the server read it so. The app then reads it as it is, not through
#: werkzeug's limit again (about 12 µs a request with a body).
BODY_BOUNDED = "customer_labels.body_bounded"
