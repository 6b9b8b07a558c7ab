"""The HTTP API: one blueprint per group of endpoints.

Views stay thin: read the request (``inputs``), make one store call, shape
the answer. Rules live in ``store``; errors become problems in ``problems``.
"""

from . import customer_labels, customers, health, labels, meta


def init_app(app):
    for module in (labels, customers, customer_labels, meta, health):
        app.register_blueprint(module.bp)
    app.after_request(_safe_headers)


def _safe_headers(response):
    # Answers are data for one caller: never sniffed as another type, never cached.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
