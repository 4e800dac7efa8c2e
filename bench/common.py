"""What the benchmarks share: a clean environment, and one measured run in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def clean_env() -> dict[str, str]:
    """The caller's environment without TAWTHIQ_* settings, so every run starts from the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}


def run_json(module: str, *args: str, label: str) -> dict[str, Any]:
    """Run `python -m module args...` (Scrapy's reactor runs once per process) and read the JSON
    figures it prints last."""
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=clean_env(),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"bench: {label} failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
