"""`flask fixtures load FILE` and `flask fixtures export [FILE]`, on any store.

    flask --app app fixtures load fixtures/example.json     # API_TOKENS set, as on a host
    flask --app app:dev_app fixtures export state.json      # locally, no settings needed

An export loads back to exactly the same state.
"""

import json

import click
from flask.cli import AppGroup

from ..store import get_namespaces
from . import seed

fixtures = AppGroup("fixtures", help="Load and export fixture files (JSON or YAML).")
namespace_option = click.option("--namespace", default=None, help="A mock namespace instead of the default state.")


def init_app(app):
    app.cli.add_command(fixtures)


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
    get_namespaces().get(namespace).replace(state)
    labels, customers = len(state.get("labels", [])), len(state.get("customers", []))
    click.echo(f"Loaded {labels} labels and {customers} customers from {path}.")


@fixtures.command("export")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@namespace_option
def export(path, namespace):
    """Write the whole state as a fixture to PATH (JSON), or to stdout."""
    text = json.dumps(get_namespaces().get(namespace).export(), indent=2, ensure_ascii=False) + "\n"
    if path is None:
        click.echo(text, nl=False)
        return
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    click.echo(f"Exported to {path}.", err=True)
