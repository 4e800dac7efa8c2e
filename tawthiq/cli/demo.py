"""`tawthiq demo`: serve the bundled synthetic site on 127.0.0.1 and capture all of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tawthiq.cli.app import app
from tawthiq.cli.options import DataDir


@app.command()
def demo(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="port for the demo site (0 = any free port)")] = 0,
) -> None:
    """Serve the bundled synthetic demo site on 127.0.0.1 and capture all of it."""
    from tawthiq.demo.run import run_demo

    raise typer.Exit(run_demo(data_dir or Path("./tawthiq-demo-data"), port))
