"""The wheel as users install it: one top-level name, `tawthiq`, holding every room, its data files
and nothing that would shadow another distribution. `dedupe` and `index` are also names on PyPI
(dedupe.io's record linkage library is common in the same research environments), so a wheel with
a top-level `dedupe/` would silently replace it or be replaced by it.

The wheel is built with pip from a copy of the checkout (setuptools' in-tree build/ folder can
carry files deleted since into a wheel), then installed beside PyPI's `dedupe` in a plain new
virtualenv. Both are installed without their dependencies, so nothing is imported beyond what
`importlib.util.find_spec` needs: locations are compared, not behaviour.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("crawlers", "archivers", "dedupe", "index", "config")
# Signs in pip's output that the package index, not the project, is the problem.
OFFLINE = ("Failed to establish a new connection", "Temporary failure in name resolution", "Network is unreachable",
           "No matching distribution found", "Could not find a version that satisfies", "ConnectTimeout",
           "Connection refused", "ProxyError", "Max retries exceeded")
# What is not source: virtualenvs, builds, data, caches (the .gitignore's list).
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                    "tawthiq-data", "tawthiq-demo-data", "results", ".devwheels", "replaywebpage",
                                    "node_modules")


def _pip(args: list[str], *, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "pip", *args], check=False, capture_output=True, text=True,
                          timeout=timeout, env=env)


def _skip_if_offline(result: subprocess.CompletedProcess[str], what: str) -> None:
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(sign in output for sign in OFFLINE):
        last = [line for line in output.splitlines() if line.strip()][-1:]
        pytest.skip(f"package index unreachable ({what}): {last[0] if last else 'no output'}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    result = _pip(["wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(source)])
    _skip_if_offline(result, "setuptools for the build")
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = (work / "dist").glob("tawthiq-*.whl")
    return built


def test_the_wheel_holds_only_tawthiq_with_every_room_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
    top = {n.split("/")[0] for n in names}
    assert top == {"tawthiq", dist_info}, top
    assert zipfile.ZipFile(wheel).read(f"{dist_info}/top_level.txt").decode().split() == ["tawthiq"]
    assert "tawthiq = tawthiq.cli:run" in zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    held = set(names)

    # every module of every room, under tawthiq/ (a folder without __init__.py is still found)
    for room in ROOMS:
        modules = [p.relative_to(ROOT).as_posix() for p in (ROOT / room).rglob("*.py") if "__pycache__" not in p.parts]
        assert modules, room
        # a platform's own tests and fake API servers stay in the checkout (pyproject's exclude)
        tests = {m for m in modules if m.startswith("crawlers/platforms/") and "/tests/" in m}
        missing = [m for m in modules if m not in tests and f"tawthiq/{m}" not in held]
        assert not missing, f"not in the wheel: {missing}"
        shipped = [m for m in tests if f"tawthiq/{m}" in held]
        assert not shipped, f"platform tests in the wheel: {shipped}"

    # the data files the package reads at run time
    assert "tawthiq/config/defaults.toml" in held
    data = [p for pattern in ("web/templates/*", "web/static/*", "demo/templates/*", "catalog/migrations/*.py",
                              "catalog/migrations/*.mako", "catalog/migrations/versions/*.py")
            for p in (ROOT / "tawthiq").glob(pattern) if p.is_file()]
    assert any(p.suffix == ".html" for p in data) and any(p.parent.name == "static" for p in data)
    assert any(p.parent.name == "versions" for p in data)
    missing = [p.relative_to(ROOT).as_posix() for p in data if p.relative_to(ROOT).as_posix() not in held]
    assert not missing, f"data files not in the wheel: {missing}"

    # Platform samples are test fixtures for tests/test_platform_samples.py, which runs from a
    # checkout; no capture reads them, so installs do not carry synthetic posts around.
    assert not [n for n in names if "/samples/" in n]


def test_the_wheel_installs_beside_pypi_dedupe_and_neither_shadows_the_other(wheel: Path, tmp_path: Path) -> None:
    download = _pip(["download", "--no-deps", "--only-binary=:all:", "--quiet", "-d", str(tmp_path / "pypi"), "dedupe"])
    _skip_if_offline(download, "PyPI's dedupe")
    assert download.returncode == 0, download.stdout + download.stderr
    (theirs,) = (tmp_path / "pypi").glob("dedupe-*.whl")

    venv = tmp_path / "venv"  # a plain virtualenv: no system site-packages, no pip of its own
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    install = _pip(["--python", str(python), "install", "--no-deps", "--no-index", "--quiet", str(theirs), str(wheel)])
    assert install.returncode == 0, install.stdout + install.stderr

    probe = (
        "import importlib.util, importlib.metadata, json, sys\n"
        "spec = lambda name: importlib.util.find_spec(name).origin\n"
        "print(json.dumps({'dedupe': spec('dedupe'), 'tawthiq': spec('tawthiq'),\n"
        "  'tawthiq.dedupe': spec('tawthiq.dedupe'), 'tawthiq.dedupe.matcher': spec('tawthiq.dedupe.matcher'),\n"
        "  'tawthiq.crawlers.platforms': spec('tawthiq.crawlers.platforms'),\n"
        "  'index': importlib.util.find_spec('index') and spec('index'),\n"
        "  'crawlers': importlib.util.find_spec('crawlers') and spec('crawlers'),\n"
        "  'files': [str(f) for f in importlib.metadata.files('tawthiq')], 'prefix': sys.prefix}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(python), "-I", "-c", probe], check=False, capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    site = Path(found["tawthiq"]).parents[1]  # .../site-packages/tawthiq/__init__.py
    assert Path(found["prefix"]).resolve() == venv.resolve() and site.resolve().is_relative_to(venv.resolve())

    # `import dedupe` is PyPI's record linkage library (its Dedupe class), untouched by our wheel
    theirs_dir = Path(found["dedupe"]).parent
    assert theirs_dir == site / "dedupe"
    assert "Dedupe" in (theirs_dir / "__init__.py").read_text()
    assert "class Dedupe" in (theirs_dir / "api.py").read_text()
    assert not (theirs_dir / "matcher.py").exists()
    # `import tawthiq.dedupe` is ours, inside tawthiq/
    assert Path(found["tawthiq.dedupe"]) == site / "tawthiq" / "dedupe" / "__init__.py"
    assert Path(found["tawthiq.dedupe.matcher"]) == site / "tawthiq" / "dedupe" / "matcher.py"
    assert Path(found["tawthiq.crawlers.platforms"]) == site / "tawthiq" / "crawlers" / "platforms" / "__init__.py"
    # and nothing of ours answers to the rooms' bare names
    assert found["index"] is None and found["crawlers"] is None
    outside = [f for f in found["files"] if not f.startswith(("tawthiq/", "tawthiq-")) and not f.endswith("bin/tawthiq")]
    assert not outside, outside
