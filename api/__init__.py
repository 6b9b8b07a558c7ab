"""The HTTP API: one blueprint per group of endpoints.

Views stay thin: read the request (``inputs``), make one store call, shape
the answer. Rules live in ``store``; errors become problems in ``problems``.
"""

from . import customer_labels, customers, labels, meta


def init_app(app):
    for module in (labels, customers, customer_labels, meta):
        app.register_blueprint(module.bp)
