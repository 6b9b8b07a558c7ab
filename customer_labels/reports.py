"""Error reports: with SENTRY_DSN set, unexpected errors (the 500s) go to Sentry with
the request id, and without tokens, bodies or personal data. Unset, sentry-sdk is
never imported.

sentry-sdk reads SENTRY_ENVIRONMENT and SENTRY_RELEASE itself.
"""

from flask import request

from .logs import REQUEST_ID

#: What an event keeps of the request: the method and the URL (ids are UUIDs and
#: label ids, no personal data) and the headers sentry-sdk filters (no Authorization
#: or cookies without send_default_pii). Bodies, cookies, the environ and the query
#: string (it may carry an email in a future filter) go.
KEPT = ("method", "url", "headers")


def init_app(app):
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        max_request_body_size="never",
        # A frame's local variables may hold a token or a body.
        include_local_variables=False,
        before_send=_scrub,
        before_breadcrumb=lambda crumb, hint: None,  # log lines and HTTP calls stay home
    )

    @app.before_request
    def _tag_request_id():
        sentry_sdk.set_tag("request_id", request.environ.get(REQUEST_ID))


def _scrub(event, hint):
    """Keep of an event what finds the bug, nothing that names a caller or a customer."""
    if "request" in event:
        event["request"] = {key: value for key, value in event["request"].items() if key in KEPT}
    event.pop("user", None)
    event.pop("extra", None)
    return event
