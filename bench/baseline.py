"""The bare endpoints the service is measured against: the least Flask and
redis-py can do for each request, with no auth, no validation, no logging.

    BENCH_REDIS_URL=redis://... gunicorn -w 2 -k gthread --threads 4 bench.baseline:app
    BENCH_REDIS_URL=redis://... PORT=8000 python -m bench.baseline   # on this project's server
"""

import os

import redis
from flask import Flask, jsonify, request

app = Flask(__name__)
_redis = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
#: The same 5 labels for every customer, as the service's in-memory store would hold them.
_labels = {}


@app.get("/dict/<customer_id>")
def from_dict(customer_id):
    return jsonify(_labels.setdefault(customer_id, ["label-1", "label-2", "label-3", "label-4", "label-5"]))


@app.get("/smembers/<customer_id>")
def smembers(customer_id):
    return jsonify(sorted(_redis.smembers(f"bare:{customer_id}")))


@app.post("/sadd/<customer_id>")
def sadd(customer_id):
    labels = request.get_json(force=True)["labels"]
    with _redis.pipeline(transaction=False) as pipe:
        pipe.sadd(f"bare:{customer_id}", *labels)
        pipe.smembers(f"bare:{customer_id}")
        _, members = pipe.execute()
    return jsonify(sorted(members))


if __name__ == "__main__":
    # On this project's server, with the settings the Procfile's web line gets (on Redis).
    from customer_labels import settings
    from customer_labels.server.run import serve

    serve(app, host="127.0.0.1", **settings.server_settings({**os.environ, "REDIS_URL": "redis://bench"}))
