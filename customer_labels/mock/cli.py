"""`flask fixtures load FILE` and `flask fixtures export [FILE]`, on any store,
and `flask migrate`, which brings a Redis's data to this release's key layout.

    REDIS_URL=... flask --app app fixtures load state.json   # API_TOKENS set, as on a host
    REDIS_URL=... flask --app app:dev_app fixtures export state.json
    REDIS_URL=... flask --app app migrate                     # what a start does, on its own

An export loads back to exactly the same state. They refuse a store in memory (no
REDIS_URL): it would live and die with the command, so a load would keep nothing.
"""

import functools
import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from ..store import StoreUnavailable, bulk, get_namespaces, layout
from . import seed

fixtures = AppGroup("fixtures", help="Load and export fixture files (JSON or YAML).")
namespace_option = click.option("--namespace", default=None, help="A mock namespace instead of the default state.")


#: Seconds the commands wait for another process that migrates the layout.
LAYOUT_WAIT = 60


def init_app(app):
    app.cli.add_command(fixtures)
    app.cli.add_command(migrate)


def _store(namespace):
    """The store the command acts on, its data in this release's layout."""
    store = get_namespaces().get(namespace)
    if not store.SHARED:
        raise click.ClickException(
            "the store is in memory (REDIS_URL is unset): it would end with this command, so a load would "
            "keep nothing and an export finds nothing. Set REDIS_URL to the Redis to use, or start the "
            "local mock with SEED_FILE=FILE (SEED_FILE=fixtures/example.json make run)."
        )
    try:
        store.ensure_layout(wait=LAYOUT_WAIT)
    except StoreUnavailable as err:
        raise click.ClickException(f"the store is unavailable: {err.cause}") from None
    return store


@click.command("migrate")
@namespace_option
@with_appcontext
def migrate(namespace):
    """Bring the stored data to this release's key layout (a start does it too)."""
    _store(namespace)
    click.echo(f"The data is in key layout {layout.LAYOUT}, this release's.")


def _answering(command):
    """A command whose store stops answering ends with one line, not a traceback."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except StoreUnavailable as err:
            raise click.ClickException(f"the store is unavailable: {err.cause}") from None

    return run


@fixtures.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@namespace_option
@_answering
def load(path, namespace):
    """Replace the whole state with the fixture at PATH, in batches; a bad file changes nothing."""
    store = _store(namespace)
    try:
        if seed.is_large(path):  # checked as a stream, then read again as one
            labels, total = seed.scan(path)
            customers = seed.customers(path)
        else:
            state = seed.read(path)
            labels, customers = state.get("labels", []), state.get("customers", [])
            total = len(customers)
    except seed.SeedError as err:
        lines = "\n".join(f"  {e['path'] or '/'}: {e['message']}" for e in err.errors)
        raise click.ClickException(f"{path} was not loaded:\n{lines}") from None
    if bulk.loading(store):
        click.echo("A load stopped half-way before this one: this one replaces what it left.", err=True)
    try:
        with _progress(total, "Loading customers") as bar:
            bulk.load(store, labels, customers, bar.update)
    except StoreUnavailable as err:
        _unless_finished(store, path, err)
    click.echo(f"Loaded {len(labels)} labels and {total} customers from {path}.")


def _unless_finished(store, path, err):
    """A load met an error: success only if its last step is known to have run."""
    try:
        finished = not bulk.loading(store)
    except StoreUnavailable:
        finished = False
    if not finished:
        raise click.ClickException(
            f"{path} was not loaded completely ({err.cause}): the store may hold part of it. "
            "Run the same command again to finish."
        ) from None


@fixtures.command("export")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@namespace_option
@_answering
def export(path, namespace):
    """Write the whole state as a fixture to PATH (JSON), or to stdout, in batches."""
    store = _store(namespace)
    if bulk.loading(store):
        raise click.ClickException("a load is under way, or stopped half-way: the state is not whole. Load it again.")
    if path is None:
        _write(store, sys.stdout, None)
        return
    # Written aside and moved into place whole: a failed export leaves no half file.
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as out, _progress(bulk.count_customers(store), "Exporting") as bar:
            _write(store, out, bar.update)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Exported to {path}.", err=True)


def _write(store, out, progress):
    """The state as fixture JSON, one label or customer a line, as the store gives it
    batch by batch; ``progress(n)`` told of each batch of customers written."""
    labels, customers = store.export_parts()
    for piece in seed.text(labels, _counted(customers, progress), line="\n"):
        out.write(piece)


def _counted(items, progress):
    """``items``, telling ``progress`` (when given) of each batch of them as they pass."""
    n = 0
    for n, item in enumerate(items, 1):
        yield item
        if progress and n % bulk.BATCH == 0:
            progress(bulk.BATCH)
    if progress:
        progress(n % bulk.BATCH)


def _progress(total, label):
    """A progress bar on a terminal (stderr); elsewhere nothing is drawn."""
    return click.progressbar(length=total, label=label, file=sys.stderr)
