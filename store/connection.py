"""The Redis client: bounded waits everywhere, so that a Redis that is down or
hung costs a request well under 2 s, and the pool heals by itself once it is back.

One client is made per app. With gunicorn's preload the app is made in the
master before the fork; redis-py's pool notices the new pid in each worker
and opens that worker's own connections, so no socket is ever shared.
"""

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

#: Seconds to open a TCP (and TLS) connection.
CONNECT_TIMEOUT = 0.5
#: Seconds to wait for a reply. The slowest script (a label delete that
#: detaches it from many customers) must fit in this.
COMMAND_TIMEOUT = 1.5
#: Seconds a request waits for a free connection when all are busy.
POOL_TIMEOUT = 0.5
#: A connection idle this long is PINGed before use: managed Redis and NAT
#: gateways drop idle connections (often after 60 to 300 s), and a PING finds
#: that out before a request does.
HEALTH_CHECK_INTERVAL = 30
#: Failing to connect is retried twice, after 100 and then 200 ms. A timeout is not
#: retried: the command may have run, and a retry would double the wait.
RETRY = Retry(ExponentialBackoff(cap=0.2, base=0.05), 2, supported_errors=(redis.ConnectionError,))


def make_client(url, *, tls_verify=True, max_connections=20):
    """A client for ``url`` (redis://, rediss:// or unix://) that answers str."""
    options = {
        "decode_responses": True,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "retry": RETRY,
        "max_connections": max_connections,
        "timeout": POOL_TIMEOUT,
    }
    if url.startswith("rediss://") and not tls_verify:
        # REDIS_TLS_VERIFY=false: still encrypted, but any certificate is
        # accepted, as the self-signed ones of some managed Redis need.
        options.update(ssl_cert_reqs="none", ssl_check_hostname=False)
    pool = redis.BlockingConnectionPool.from_url(url, **options)
    return redis.Redis(connection_pool=pool)
