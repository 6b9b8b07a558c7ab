"""`flask fixtures load FILE` and `flask fixtures export [FILE]`, on any store,
and `flask migrate`, which brings a Redis's data to this release's key layout.

    REDIS_URL=... flask --app app fixtures load state.json   # API_TOKENS set, as on a host
    REDIS_URL=... flask --app app:dev_app fixtures export state.json
    REDIS_URL=... flask --app app migrate                     # what a start does, on its own

An export loads back to exactly the same state. They refuse a store in memory (no
REDIS_URL): it would live and die with the command, so a load would keep nothing.
"""

import json

import click
from flask.cli import AppGroup, with_appcontext

from ..store import StoreUnavailable, get_namespaces, layout
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


@fixtures.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@namespace_option
def load(path, namespace):
    """Replace the whole state with the fixture at PATH; a bad one changes nothing."""
    try:
        state = seed.read(path)
    except seed.SeedError as err:
        lines = "\n".join(f"  {e['path'] or '/'}: {e['message']}" for e in err.errors)
        raise click.ClickException(f"{path} was not loaded:\n{lines}") from None
    _store(namespace).replace(state)
    labels, customers = len(state.get("labels", [])), len(state.get("customers", []))
    click.echo(f"Loaded {labels} labels and {customers} customers from {path}.")


@fixtures.command("export")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@namespace_option
def export(path, namespace):
    """Write the whole state as a fixture to PATH (JSON), or to stdout."""
    text = json.dumps(_store(namespace).export(), indent=2, ensure_ascii=False) + "\n"
    if path is None:
        click.echo(text, nl=False)
        return
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    click.echo(f"Exported to {path}.", err=True)
