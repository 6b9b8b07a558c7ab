"""What a store raises when a request breaks a rule; the API turns each into a problem response."""


class StoreError(Exception):
    """Base of every rule a store enforces."""


class NotFound(StoreError):
    def __init__(self, kind, ident):
        super().__init__(f"{kind} {ident!r} does not exist")
        self.kind = kind
        self.ident = ident


class Conflict(StoreError):
    """A label name or id, or a customer id, that is already taken."""

    def __init__(self, field, value):
        super().__init__(f"{field} {value!r} is already taken")
        self.field = field
        self.value = value


class UnknownLabels(StoreError):
    """An attach named labels that do not exist; nothing was attached."""

    def __init__(self, label_ids):
        super().__init__("unknown label ids: " + ", ".join(label_ids))
        self.label_ids = list(label_ids)
        #: Indexes into the request's list where the unknown ids stand.
        self.positions = []


class TooManyLabels(StoreError):
    """An attach would take a customer past the label cap; nothing was attached."""

    def __init__(self, cap, attached, adding):
        super().__init__(f"a customer holds at most {cap} labels: {attached} attached, {adding} more requested")
        self.cap = cap
        self.attached = attached
        self.adding = adding


class CustomersRefused(StoreError):
    """A change of a label's customers named customers that do not exist ("unknown") or
    that it would take past the label cap ("full"); nothing was changed."""

    def __init__(self, reason, customer_ids):
        super().__init__(f"{reason} customers: " + ", ".join(customer_ids))
        self.reason = reason
        self.customer_ids = list(customer_ids)
        #: Indexes into the request's list where those ids stand.
        self.positions = []


class PreconditionFailed(StoreError):
    """If-Match named no tag the resource has now: it changed since it was read; nothing was changed."""


class TooLarge(StoreError):
    """The state is too large for one step (a snapshot, a reset): the CLI works in batches."""

    def __init__(self, what, limit):
        super().__init__(f"{what} passes the {limit} that one step may take")
        self.what = what
        self.limit = limit


#: Added to the cause when Redis's TLS certificate did not verify: what the operator most
#: likely needs. Checking stays the default; only the operator can know the certificate.
UNVERIFIED_HINT = (
    " (a managed Redis with a self-signed certificate, such as Heroku's, needs REDIS_TLS_VERIFY=false:"
    " still encrypted, the certificate not checked)"
)


class StoreUnavailable(Exception):
    """The backend cannot be reached or cannot take writes now; try again later."""

    def __init__(self, cause):
        if "CERTIFICATE_VERIFY_FAILED" in str(cause):
            cause = f"{cause}{UNVERIFIED_HINT}"
        super().__init__(f"store unavailable: {cause}")
        self.cause = cause
