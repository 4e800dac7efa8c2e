"""The Typer application every command module adds its commands to."""

from __future__ import annotations

from typing import Annotated

import typer

from tawthiq import __version__
from tawthiq.display import console

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Capture open-source evidence into standard WARC archives.",
)


@app.callback(invoke_without_command=True)
def main(version: Annotated[bool, typer.Option("--version", help="print the version")] = False) -> None:
    if version:
        console.print(f"tawthiq {__version__}")
        raise typer.Exit(0)
