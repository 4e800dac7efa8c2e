"""Shared fixtures: local servers on 127.0.0.1, a data directory, and a CLI runner.

Each capture runs `tawthiq` in a subprocess, as a user would: Scrapy's reactor cannot be
restarted inside one process, and the subprocess also proves the CLI's exit codes and output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tawthiq.archivers.reader import iter_records
from tawthiq.demo.server import LocalServer, Resource
from tawthiq.demo.site import DemoChannel, install_demo_site

ROOT = Path(__file__).resolve().parent.parent
SHARED_FORMATS = ROOT.parent / "shared" / "formats"


@dataclass
class CLIResult:
    code: int
    out: str
    err: str


def run_tawthiq(args: list[str], *, data_dir: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 180) -> CLIResult:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    full_env.update({"COLUMNS": "200", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"})
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "tawthiq.cli", *args]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT)
    return CLIResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@dataclass
class Demo:
    server: LocalServer
    channel: DemoChannel

    @property
    def env(self) -> dict[str, str]:
        return {"TAWTHIQ_TELEGRAM_BASE_URL": self.server.base_url}


@pytest.fixture
def demo() -> Iterator[Demo]:
    srv = LocalServer()
    channel = install_demo_site(srv)
    with srv:
        yield Demo(srv, channel)


def warc_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "warcs").glob("*.warc.gz"))


def all_records(data_dir: Path) -> list:  # type: ignore[type-arg]
    out = []
    for path in warc_files(data_dir):
        out.extend(iter_records(path))
    return out


def read_payloads(data_dir: Path) -> dict[str, list[tuple[str, dict[str, str], bytes, bytes]]]:
    """URI -> [(type, warc headers, http head bytes, payload bytes)] for response/revisit/request."""
    from warcio.archiveiterator import ArchiveIterator

    out: dict[str, list] = {}
    for path in warc_files(data_dir):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type not in ("response", "revisit", "request"):
                    continue
                headers = dict(record.rec_headers.headers)
                raw = record.raw_stream.read()
                http_head = record.http_headers.to_bytes() if record.http_headers else b""
                out.setdefault(record.rec_headers.get_header("WARC-Target-URI"), []).append(
                    (record.rec_type, headers, http_head, raw))
    return out


def raw_blocks(path: Path) -> list[tuple[dict[str, str], bytes]]:
    """(WARC headers, exact block bytes) of each record, read without warcio's HTTP parsing."""
    import gzip

    data = gzip.decompress(path.read_bytes())
    out = []
    pos = 0
    while pos < len(data):
        end = data.index(b"\r\n\r\n", pos)
        head = data[pos:end].decode("utf-8").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        length = int(headers["Content-Length"])
        block = data[end + 4 : end + 4 + length]
        out.append((headers, block))
        pos = end + 4 + length + 4
    return out


def all_blocks(data_dir: Path) -> list[tuple[dict[str, str], bytes]]:
    out = []
    for path in warc_files(data_dir):
        out.extend(raw_blocks(path))
    return out


def query(data_dir: Path, sql: str) -> list[tuple]:
    """Rows from the catalog of a data directory, read with a connection of its own."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{data_dir / 'catalog.sqlite'}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql)).all()]
    engine.dispose()
    return rows


def serve_slow_endless_site(server: LocalServer) -> None:
    """Endless pages under /p/N, each slow and linking to two more: a crawl always mid-way."""
    import time

    from tawthiq.demo.server import Resource

    def page(path: str) -> Resource:
        n = int(path.rsplit("/", 1)[-1] or 0)
        time.sleep(0.05)
        links = "".join(f'<a href="/p/{n * 2 + k}">next</a>' for k in (1, 2))
        return Resource(f"<html><body>page {n} {'x' * 3000}{links}</body></html>".encode())

    server.fallback = lambda incoming: page(incoming.path) if incoming.path.startswith("/p/") else None


def start_endless_capture(server: LocalServer, data_dir: Path, *, min_bytes: int,
                          pipe: bool = False) -> subprocess.Popen:
    """`tawthiq capture` of the slow endless site in its own process, returned once its WARC file
    holds more than `min_bytes` while still `.open`: a crawl caught in the middle."""
    import time

    serve_slow_endless_site(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env.update({"TAWTHIQ_DEPTH_LIMIT": "50", "TAWTHIQ_PAGE_LIMIT": "100000"})
    out = subprocess.PIPE if pipe else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "capture", server.url("/p/0"),
                             "--data-dir", str(data_dir)], cwd=ROOT, env=env, stdout=out, stderr=out, text=True)
    warcs = data_dir / "warcs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if warcs.exists() and any(p.stat().st_size > min_bytes for p in warcs.glob("*.open")):
            break
        time.sleep(0.1)
    return proc


def capture_one_statement(data_dir: Path, page: bytes) -> None:
    """Capture an RSS feed of one item whose link is `page` (a local server) into `data_dir`:
    the smallest archive with a post and its page, for tests of what the web app serves."""
    with LocalServer({"/statement.html": Resource(page)}) as srv:
        srv.routes["/feed.xml"] = Resource(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>reports</title><link>{srv.url("/")}</link>'
            f'<description>d</description><item><title>witness statement</title><link>{srv.url("/statement.html")}'
            f'</link><guid>s-1</guid><description>a witness speaks</description></item></channel></rss>'.encode(),
            content_type="application/rss+xml")
        result = run_tawthiq(["capture", f"feed:{srv.url('/feed.xml')}"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
