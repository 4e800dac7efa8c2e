"""Options every command that reads an archive takes (shared by the command modules)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DataDir = Annotated[Optional[Path], typer.Option("--data-dir", "-d", help="data directory (TAWTHIQ_HOME)")]
ConfigFile = Annotated[Optional[Path], typer.Option("--config", help="settings file (TOML)")]
