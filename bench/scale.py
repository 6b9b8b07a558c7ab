"""Scale: GET latency as customers grow, attach cost as the catalogue grows, and
deleting a label that very many customers carry while requests go on."""

import json
import threading
import time
import urllib.request
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from bench import data, load, report
from bench.services import API_TOKENS, TOKEN, redis_server, service


def _latency(url, ids_file, seconds):
    """p50 and p99 of GETs on the sample, at a light load (4 connections)."""
    result = load.run(url, [TOKEN, ids_file, "GET", load.LABELS_PATH], seconds, 4, 1)
    return result.p50, result.p99


def get_latency(server, directory, small, large, seconds, rounds=9):
    """GET latency on ``small`` customers against ``large``: two Redis servers holding the
    same first ``small`` customers (one also the rest), each behind its own service, the
    two measured side by side in rounds (report.in_turn) so that the machine's drift falls
    on both."""
    client = server.client()
    client.flushall()
    ids = data.fill(client, "cl:", small)[1]
    ids_file = Path(directory) / "scale-ids.txt"
    ids_file.write_text("\n".join(ids[:1000]) + "\n")
    with redis_server() as big, ExitStack() as services:
        big_client = big.client()
        big_store, big_ids = data.fill(big_client, "cl:", small)  # the same customers, the same labels
        assert big_ids == ids
        extra = data.fill(big_client, "cl:", large - small, labels=[], per_customer=0, seed=10**7)[1]
        data.attach(big_store, extra, data.LABELS, 5, seed=2)
        # Redis's own reads, as customers grow: without copies (REDIS_CACHE_MB=0), which
        # would answer the same sample from memory whatever Redis holds.
        urls = [
            services.enter_context(service(API_TOKENS=API_TOKENS, REDIS_URL=each.url, REDIS_CACHE_MB="0"))
            for each in (server, big)
        ]
        for url in urls:
            _latency(url, ids_file, 1)
        runs = [partial(_latency, url, ids_file, seconds) for url in urls]
        pairs = [report.in_turn(round_, runs) for round_ in range(rounds)]

    def ratio(pair):  # of the p50s
        return pair[1][0] / pair[0][0]

    (small_p50, small_p99), (large_p50, large_p99) = report.median_round(pairs, ratio)
    return (
        f"GET latency with {large:,} customers: p50 {large_p50:.2f} ms, p99 {large_p99:.2f} ms; with {small:,}: "
        f"p50 {small_p50:.2f} ms, p99 {small_p99:.2f} ms; p50 ratio {large_p50 / small_p50:.2f} (target ≤ 1.10; "
        f"{rounds} alternating rounds: {', '.join(f'{ratio(pair):.2f}' for pair in pairs)})"
    )


def attach_cost(server, directory, catalogues, seconds):
    client = server.client()
    results = []
    for catalogue in catalogues:
        client.flushall()
        labels = [f"label-{i}" for i in range(catalogue)]
        store, ids = data.fill(client, "cl:", 100, labels=labels, per_customer=0)
        ids_file = Path(directory) / "attach-ids.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        body = json.dumps({"labels": labels[: catalogue : catalogue // 100][:100]})
        args = [TOKEN, ids_file, "POST,DELETE", load.LABELS_PATH, body]
        with service(API_TOKENS=API_TOKENS, REDIS_URL=server.url) as url:
            load.run(url, args, 1, 4, 1)
            result = load.run(url, args, seconds, 4, 1)
        results.append((catalogue, result.p50))
    (small, fast), (big, slow) = results
    return (
        f"attach 100 labels (alternating with detach): p50 {fast:.2f} ms with {small:,} labels, "
        f"{slow:.2f} ms with {big:,} (ratio {slow / fast:.2f}: linear in the request, not the catalogue)"
    )


def delete_wide_label(server, directory, carriers):
    client = server.client()
    client.flushall()
    store, ids = data.fill(client, "cl:", carriers, labels=data.LABELS, per_customer=4)
    data.attach(store, ids, ["label-49"], 1, seed=3)  # the wide label, on every customer
    ids_file = Path(directory) / "delete-ids.txt"
    ids_file.write_text("\n".join(ids[:1000]) + "\n")
    client.config_set("slowlog-log-slower-than", 0)
    client.config_set("slowlog-max-len", 1_000_000)
    with service(API_TOKENS=API_TOKENS, REDIS_URL=server.url) as url:
        load.run(url, [TOKEN, ids_file, "GET", load.LABELS_PATH], 1, 4, 1)
        client.slowlog_reset()
        during = {}
        meanwhile = threading.Thread(
            target=lambda: during.update(result=load.run(url, [TOKEN, ids_file, "GET", load.LABELS_PATH], 6, 4, 1))
        )
        meanwhile.start()
        time.sleep(1)
        request = urllib.request.Request(
            f"{url}/labels/labels/label-49", method="DELETE", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=300) as response:
            assert response.status == 204
        took = time.monotonic() - started
        meanwhile.join()
    slowest = max(client.slowlog_get(1_000_000), key=lambda entry: entry["duration"])
    client.config_set("slowlog-log-slower-than", 10_000)
    command = slowest["command"]
    command = (command.decode() if isinstance(command, bytes) else command).split()[0]
    return (
        f"deleting a label {carriers:,} customers carry: {took:.2f} s; the longest single command (SLOWLOG) "
        f"{slowest['duration'] / 1000:.1f} ms ({command}; target ≤ 50 ms); GET p99 meanwhile "
        f"{during['result'].p99:.1f} ms (target < 100 ms)"
    )


def run(server, directory, quick):
    if quick:
        return [
            get_latency(server, directory, 1000, 20_000, 2, rounds=2),
            attach_cost(server, directory, (200, 2000), 2),
            delete_wide_label(server, directory, 10_000),
        ]
    return [
        get_latency(server, directory, 1000, 1_000_000, 5),
        attach_cost(server, directory, (200, 10_000), 10),
        delete_wide_label(server, directory, 100_000),
    ]
