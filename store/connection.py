"""The Redis client: bounded waits everywhere, so that a Redis that is down or
hung costs a request well under 2 s, and the pool heals by itself once it is back.

One client is made per app. The server makes the app once, in the
master before the fork; redis-py's pool notices the new pid in each worker
and opens that worker's own connections, so no socket is ever shared.
"""

import contextlib
import functools
import hashlib
import queue
import threading

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import RedisCluster
from redis.commands.core import Script as ClientScript
from redis.connection import Encoder
from redis.crc import key_slot
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MaxConnectionsError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    TryAgainError,
)
from redis.retry import Retry

#: Seconds to open a TCP (and TLS) connection.
CONNECT_TIMEOUT = 0.5
#: Seconds to wait for a reply. Every command is kept well under 50 ms at a million
#: customers (a label delete detaches in batches); this leaves room for a Redis stalled
#: by a fork or a slow disk. With the rate limits' FAIL_FAST_TIMEOUT before it, a hung
#: Redis's 503 comes within 1.4 s: the 2 s promised, with room for a busy machine.
COMMAND_TIMEOUT = 1.2
#: Seconds a request waits for a free connection when all are busy.
POOL_TIMEOUT = 0.5
#: A connection idle this long is PINGed before use: managed Redis and NAT
#: gateways drop idle connections (often after 60 to 300 s), and a PING finds
#: that out before a request does.
HEALTH_CHECK_INTERVAL = 30
#: Failing to connect is retried twice, after 100 and then 200 ms. A timeout is not
#: retried: the command may have run, and a retry would double the wait.
RETRY = Retry(ExponentialBackoff(cap=0.2, base=0.05), 2, supported_errors=(redis.ConnectionError,))
#: A cluster client retries a failed command itself, after asking the cluster
#: again which node serves the slot; with no retry here a node that is down or
#: hung costs one connect or command timeout, and the next request finds the new
#: master once the cluster has promoted one.
CLUSTER_RETRY = Retry(NoBackoff(), 0)
#: Seconds a fail-fast client (``fail_fast``) waits to connect, for a reply, or for a
#: free connection: what may be skipped (counting rate limits) must not make the
#: store's own wait too long to answer within 2 s.
FAIL_FAST_TIMEOUT = 0.2


def make_client(url, *, tls_verify=True, max_connections=20, cluster=False):
    """A client for ``url`` (redis://, rediss:// or unix://) that answers str;
    with ``cluster``, for the Redis Cluster that ``url`` names one node of."""
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
    if cluster:
        # One pool per node, each waiting for a free connection as the single-node one does.
        pool = functools.partial(Pool, timeout=options.pop("timeout"))
        return LazyCluster(url, **dict(options, retry=CLUSTER_RETRY), connection_pool_class=pool)
    pool = Pool.from_url(url, **options)
    return redis.Redis(connection_pool=pool)


def fail_fast(client):
    """A client to the same Redis (or cluster) as ``client``, with its settings (URL,
    TLS, pool size), that waits at most FAIL_FAST_TIMEOUT and never retries. A cluster
    client made elsewhere (not by ``make_client``) is used as it is."""
    quick = {"socket_connect_timeout": FAIL_FAST_TIMEOUT, "socket_timeout": FAIL_FAST_TIMEOUT}
    if isinstance(client, LazyCluster):
        pool = functools.partial(Pool, timeout=FAIL_FAST_TIMEOUT)
        return LazyCluster(client.url, **dict(client.options, **quick, connection_pool_class=pool))
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return client
    fast_pool = Pool(
        connection_class=pool.connection_class,
        max_connections=pool.max_connections,
        timeout=FAIL_FAST_TIMEOUT,
        **dict(pool.connection_kwargs, **quick, retry=Retry(NoBackoff(), 0)),
    )
    return redis.Redis(connection_pool=fast_pool)


class Pool(redis.BlockingConnectionPool):
    """redis-py's BlockingConnectionPool, its free connections kept in ``Slots``, and
    its get and release without the steps this service never uses.

    Why: in redis-py 8 each get and release also checks its arguments for deprecated
    ones, names the pool for telemetry (a string made each time), records counts and
    waits for OpenTelemetry (off here), and checks for a server's maintenance, which
    is told only over RESP3 (this pool speaks RESP2) and to a client with no cache of
    its own (this one keeps none): about 7 µs of a POST's Python (docs/performance.md).
    What a get does for safety stays, as redis-py does it: a pool used after a fork
    opens the new process's own connections, a connection is connected before use,
    and one that has unread data is closed and opened again. A pool asked for RESP3
    (``?protocol=3`` in REDIS_URL) or a client cache keeps redis-py's own get and release.
    """

    def __init__(self, **options):
        super().__init__(**dict({"queue_class": Slots}, **options))
        if str(self.connection_kwargs.get("protocol", 2)) == "3" or self.cache is not None:
            self.get_connection = super().get_connection
            self.release = super().release

    def get_connection(self, command_name=None, *keys, **options):
        # The arguments are ignored, as redis-py ignores them (its cluster client still passes them).
        self._checkpid()
        try:
            connection = self.pool.get(block=True, timeout=self.timeout)
        except queue.Empty:
            # redis-py's own blocking pool raises a bare ConnectionError here, which its
            # cluster client takes for a failed node (below, on_master).
            raise MaxConnectionsError("No connection available.") from None
        if connection is None:  # a free slot: make a connection for it
            connection = self.make_connection()
        try:
            connection.connect()
            try:
                if connection.can_read():
                    raise redis.ConnectionError("Connection has data")
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                connection.disconnect()
                connection.connect()
                if connection.can_read():
                    raise redis.ConnectionError("Connection not ready") from None
        except BaseException:
            self.release(connection)
            raise
        return connection

    def release(self, connection):
        self._checkpid()
        if not self.owns_connection(connection):  # made before a fork: its slot gets a new one
            connection.disconnect()
            self.pool.put_nowait(None)
            return
        if connection.should_reconnect():
            connection.disconnect()
        try:  # noqa: SIM105 (contextlib.suppress costs a context manager on every store call)
            self.pool.put_nowait(connection)
        except queue.Full:  # the pool was reset after a fork meanwhile
            pass


class Slots:
    """Where a BlockingConnectionPool keeps its free connections: ``queue.LifoQueue``'s
    ``get``, ``put_nowait`` and ``queue``, which is all redis-py uses of it.

    Why: LifoQueue waits on a Condition written in Python, about 2 µs of every store
    call (docs/performance.md). Here each free connection has a token in a SimpleQueue,
    which waits in C, and the connections are a list, the last given back handed out
    first, so that, as with LifoQueue, a pool makes a new connection (its free slots
    hold None) only when every connection it made is in use.
    """

    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.queue = []  # named as LifoQueue names it: redis-py reads it
        self._tokens = queue.SimpleQueue()
        self._lock = threading.Lock()

    def put_nowait(self, item):
        with self._lock:
            if len(self.queue) >= self.maxsize:
                raise queue.Full
            self.queue.append(item)
        self._tokens.put(None)  # after the item: a token always has an item to take

    def get(self, block=True, timeout=None):
        """The last item put, waiting up to ``timeout`` for one; queue.Empty when none came."""
        self._tokens.get(block, timeout)
        with self._lock:
            return self.queue.pop()


class LazyCluster:
    """A RedisCluster client that connects on first use, as a single-node client does.

    A RedisCluster asks a node for the cluster's layout as it is made; made at
    start, a cluster that is down then would stop the service instead of the
    service answering 503 until the cluster is back.
    """

    def __init__(self, url, **options):
        self.url = url
        self.options = options
        self._client = None
        self._lock = threading.Lock()

    def get_encoder(self):
        return Encoder("utf-8", "strict", True)

    def register_script(self, script):
        return ClientScript(self, script)

    def __getattr__(self, name):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = RedisCluster.from_url(self.url, **self.options)
        return getattr(self._client, name)


def make_script(client, source):
    """What runs the Lua ``source`` on ``client``: ``Script`` on one Redis; on a cluster,
    which has a pool per node, ``ClusterScript``, which sends each run to its keys' master."""
    if isinstance(client, (LazyCluster, RedisCluster)):
        return ClusterScript(client, source)
    return Script(client, source)


class Script:
    """A Lua script, run with EVALSHA on a connection of ``client``'s pool (one Redis).

    Why not redis-py's Script: its call goes through the client's
    ``execute_command``, which in redis-py 8 also calls the client's telemetry
    hooks (off here, and asked anyway) and tracks retries for them: about 14 µs
    of a POST's 200 of Python (docs/performance.md). This does what that
    path does for a script, and no more: a connection error is retried as the
    connection's Retry says (the connection drops itself on any error, so a broken
    one never goes back to the pool as it was), and a script that Redis no longer
    holds (after a restart or SCRIPT FLUSH) is loaded again.
    """

    def __init__(self, client, source):
        self.pool = client.connection_pool
        self.script = source  # named as redis-py's Script names it
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys=(), args=()):
        conn = self.pool.get_connection()
        try:
            return conn.retry.call_with_retry(lambda: self._run(conn, keys, args), lambda _err: conn.disconnect())
        finally:
            self.pool.release(conn)

    def _run(self, conn, keys, args):
        try:
            return self._evalsha(conn, keys, args)
        except NoScriptError:
            conn.send_command("SCRIPT", "LOAD", self.script)
            conn.read_response()
            return self._evalsha(conn, keys, args)

    def _evalsha(self, conn, keys, args):
        conn.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
        return conn.read_response()


class ClusterScript(Script):
    """A Lua script on a cluster, run with EVALSHA on the master of its first key's
    slot (``on_master``): the keys of one call share a slot, by the store's layout.
    A script the master no longer holds is loaded again, as ``Script`` does."""

    def __init__(self, client, source):
        self.client = client
        self.routed = client.register_script(source)
        self.script = source
        self.sha = self.routed.sha

    def __call__(self, keys=(), args=()):
        if not keys:
            return self.routed(keys=keys, args=args)
        run = functools.partial(self._run, keys=keys, args=args)
        return on_master(self.client, keys[0], run, lambda: self.routed(keys, args))


def on_master(client, key, run, routed):
    """``run(conn)`` on a connection to the master of ``key``'s slot, as the cluster
    client's map of slots has it; else ``routed()``, redis-py's own call.

    Why not always redis-py's call: it works out every key's slot twice and goes
    through the cluster client's routing, about half a cluster command's Python
    (docs/performance.md). Where that routing is needed, it is used: a reply that the
    slot moved, is moving, or has no master means the command did not run, and
    redis-py's call runs it, following the cluster as it does. A connection that
    fails, or cannot be had, is not tried again (the command may have run, and a master
    that does not answer would make the request wait twice), and the client learns the
    cluster's layout again, as redis-py's call does then; unless the pool was only busy.
    """
    try:
        node = client.nodes_manager.get_node_from_slot(key_slot(key.encode()))
        pool = client.get_redis_connection(node).connection_pool
    except (redis.RedisError, RedisClusterException):
        return routed()
    conn = None
    try:
        conn = pool.get_connection()
        return run(conn)
    except (MovedError, AskError, TryAgainError, ClusterDownError):
        pass  # not run: redis-py's call follows the cluster
    except MaxConnectionsError:
        # Every connection busy for POOL_TIMEOUT: not the node's fault. Reading the
        # layout again would wait on the same busy pool and set its connections to
        # reconnect, under the very load that made it busy; redis-py's call does not.
        raise
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        if conn is not None:
            conn.disconnect()
        _relearn(client, node)
        raise
    finally:
        if conn is not None:
            pool.release(conn)
    return routed()


def _relearn(client, node):
    """What redis-py does after a command's connection failed: that node is asked last,
    and the cluster's layout is read again (which may fail too: the command's own
    error is the one raised)."""
    nodes = client.nodes_manager
    nodes.move_node_to_end_of_cached_nodes(node.name)
    with contextlib.suppress(redis.RedisError, RedisClusterException):
        nodes.initialize(last_failed_node_name=node.name)
