"""The warm worker's parent (tawthiq.warm.preload) may only import: a module that leaves a
descriptor open (a socket, a database connection, a file) or starts a thread at import is refused
with its name, since every forked run would share it. The real preload leaves nothing open (the
warm worker test runs it)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawthiq import warm


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("wrev_")]:
        module = sys.modules.pop(name)
        for held in getattr(module, "HELD", ()):
            held.close()
        if getattr(module, "STOP", None) is not None:
            module.STOP.set()


def test_a_module_that_opens_a_connection_at_import_is_refused(modules: Path) -> None:
    (modules / "wrev_socket.py").write_text("import socket\nHELD = socket.socketpair()\n")
    with pytest.raises(RuntimeError, match=r"socket:\[\d+\].*every forked run would share it"):
        warm.preload(["json", "wrev_socket"])


def test_a_module_that_opens_a_file_at_import_is_refused(modules: Path) -> None:
    (modules / "wrev_file.py").write_text(f"HELD = [open({str(modules / 'held.lock')!r}, 'w')]\n")
    with pytest.raises(RuntimeError, match=r"held\.lock"):
        warm.preload(["wrev_file"])


def test_a_module_that_starts_a_thread_at_import_is_refused(modules: Path) -> None:
    (modules / "wrev_thread.py").write_text(textwrap.dedent("""
        import threading
        STOP = threading.Event()
        threading.Thread(target=STOP.wait, name="wrev-poller", daemon=True).start()
    """))
    with pytest.raises(RuntimeError, match="thread 'wrev-poller'"):
        warm.preload(["wrev_thread"])


def test_modules_that_only_define_things_pass(modules: Path) -> None:
    (modules / "wrev_plain.py").write_text("import socket, threading\nLIMIT = 3\n")
    assert warm.preload(["json", "wrev_plain", "wrev_absent"]) == ["wrev_absent"]
