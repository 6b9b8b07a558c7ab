"""The benchmark's table and chart."""

import argparse
import json
import platform
import textwrap
from collections import namedtuple
from datetime import date
from pathlib import Path

#: What a benchmark's command line asks for.
Options = namedtuple("Options", "quick mode out seconds rounds")


def options(doc, quick_help, writes):
    """--quick and --out, as every benchmark takes them: quick runs are 2 s once and
    write to bench/out; full runs are 9 rounds of 5 s and write to bench/results.

    Why many short rounds: this machine's speed drifts (a baseline served 6,100 or
    8,000 POSTs a second in runs minutes apart), and a ratio is only as good as the
    two runs behind it. Runs side by side a few seconds apart, and the median of 9
    such ratios, let a drift spoil a round or two without moving the result."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", type=Path, help=f"where to write {writes}")
    args = parser.parse_args()
    out = args.out or Path(__file__).resolve().parent / ("out" if args.quick else "results")
    seconds, rounds = (2, 1) if args.quick else (5, 9)
    return Options(args.quick, "quick" if args.quick else "full", out, seconds, rounds)


def in_turn(round_, runs):
    """Call each of ``runs`` (functions of no argument) and return their results in
    the order given; in odd rounds they run last to first, so that no side of a
    comparison always goes first (after a warm or an idle spell of the machine)."""
    order = range(len(runs)) if round_ % 2 == 0 else reversed(range(len(runs)))
    results = {i: runs[i]() for i in order}
    return tuple(results[i] for i in range(len(runs)))


def median_round(pairs, ratio):
    """The median of the side-by-side rounds ``pairs`` by ``ratio(pair)``, reported whole,
    so that its figures all come from one round."""
    return sorted(pairs, key=ratio)[len(pairs) // 2]


def machine():
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(rows):
    """A Markdown table of the throughput runs."""
    lines = [
        "| endpoint | store | req/s | p50 ms | p99 ms | against | its req/s | ratio | rounds | target |",
        "|---|---|---:|---:|---:|---|---:|---:|---|---:|",
    ]
    for row in rows:
        rounds = ", ".join(f"{ratio:.2f}" for ratio in row["ratios"])
        lines.append(
            f"| {row['endpoint']} | {row['store']} | {row['rps']:,.0f} | {row['p50']:.2f} | {row['p99']:.2f} "
            f"| {row['baseline']} | {row['baseline_rps']:,.0f} | {row['ratio']:.2f} | {rounds} "
            f"| {'≥ ' + format(row['target'], '.2f') if row['target'] else 'cost, reported'} |"
        )
    return "\n".join(lines)


def chart(rows, path):
    """Throughput and p99 latency per endpoint and store, service beside baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Each label on lines of its own, so that eight side by side do not run into each other.
    names = ["\n".join(textwrap.wrap(f"{r['endpoint']} ({r['store']}) vs {r['baseline']}", 18)) for r in rows]
    x = range(len(rows))
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7.5), sharex=True)
    width = 0.38
    top.bar([i - width / 2 for i in x], [r["baseline_rps"] for r in rows], width, label="baseline", color="#9e9e9e")
    top.bar([i + width / 2 for i in x], [r["rps"] for r in rows], width, label="Customer Labels", color="#1976d2")
    top.set_ylabel("requests / s")
    top.legend()
    top.set_title(f"Throughput and latency, wrk 2 threads × 32 connections ({date.today()})")
    bottom.bar([i - width / 2 for i in x], [r["baseline_p99"] for r in rows], width, color="#9e9e9e")
    bottom.bar([i + width / 2 for i in x], [r["p99"] for r in rows], width, color="#1976d2")
    bottom.set_ylabel("p99 latency, ms")
    bottom.set_xticks(list(x), names, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(out, rows, memory, scale, mode):
    out.mkdir(parents=True, exist_ok=True)
    chart(rows, out / "chart.png")
    (out / "results.json").write_text(json.dumps({"rows": rows, "memory": memory, "scale": scale}, indent=2))
    text = [f"Measured {date.today()} on {machine()}, {mode} mode.", "", table(rows), ""]
    text += [f"- {line}" for line in memory + scale]
    (out / "results.md").write_text("\n".join(text) + "\n")
    return "\n".join(text)
