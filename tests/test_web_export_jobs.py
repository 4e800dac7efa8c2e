"""The web app's export runs in the background: the page polls a job that shows its progress,
offers the finished bundle for download, or says why it failed (issue 17)."""

from __future__ import annotations

import io
import json
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tawthiq.settings import load_settings
from tawthiq.web.app import create_app
from tests.conftest import capture_one_statement

PAGE = b"<html><body>witness statement 5120, synthetic</body></html>"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("exports") / "data"
    capture_one_statement(data, PAGE)
    return data


@pytest.fixture
def clients() -> Iterator[list[TestClient]]:
    made: list[TestClient] = []
    yield made
    for client in made:
        with client:  # start and stop the app: its shutdown removes the finished bundles
            pass
    assert not list(Path(tempfile.gettempdir()).glob("tawthiq-exportjob-*/*"))


def _client(clients: list[TestClient], archive: Path, **settings: object) -> TestClient:
    client = TestClient(create_app(load_settings(archive, **settings)), follow_redirects=False)
    clients.append(client)
    return client


def _wait(client: TestClient, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/exports/{job_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError("the export job did not finish in 60 s")


def test_the_page_starts_a_job_shows_its_progress_and_offers_the_bundle(
        archive: Path, clients: list[TestClient]) -> None:
    client = _client(clients, archive)
    form = client.get("/export?q=witness")  # a link shows what would be exported; it starts nothing
    assert form.status_code == 200 and 'method="post" action="/export"' in form.text
    assert 'name="q" value="witness"' in form.text and "tawthiq-export-" not in {t.name for t in threading.enumerate()}
    started = client.post("/export", data={"q": "witness"})
    assert started.status_code == 303 and started.headers["location"].startswith("/exports/")
    job_id = started.headers["location"].rsplit("/", 1)[1]
    job = _wait(client, job_id)
    assert job["state"] == "done" and job["posts"] == 1
    assert job["done_bytes"] == job["total_bytes"] > 0 and job["percent"] == 100.0
    page = client.get(f"/exports/{job_id}")
    assert page.status_code == 200 and "Download the WACZ" in page.text and 'http-equiv="refresh"' not in page.text
    bundle = client.get(job["download"])
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/zip"
    assert len(bundle.content) == job["size"]
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as zf:
        data = zf.read("archive/data.warc.gz")
        manifest = json.loads(zf.read("custody/manifest.json"))
    assert len(data) == job["total_bytes"]
    assert [item["url"] for item in manifest["items"]][0].endswith("/statement.html")


def test_a_failed_export_says_why_and_leaves_nothing(archive: Path, clients: list[TestClient]) -> None:
    client = _client(clients, archive, max_export_size=1000)
    job = client.post("/api/exports?q=witness").json()
    job = _wait(client, job["id"])
    assert job["state"] == "failed" and "max_export_size" in job["error"] and job["download"] is None
    assert job["done_bytes"] == 0  # refused from the selection's size, before a byte was copied
    page = client.get(f"/exports/{job['id']}")
    assert "The export failed" in page.text and "max_export_size" in page.text
    assert client.get(f"/exports/{job['id']}/file").status_code == 404
    nothing = _wait(client, client.post("/api/exports?q=nosuchwordanywhere").json()["id"])
    assert nothing["state"] == "failed" and nothing["error"]
    assert client.get("/api/exports/not-a-job").status_code == 404
    assert client.post("/api/exports").status_code == 400
    assert not list(Path(tempfile.gettempdir()).glob("tawthiq-exportjob-*/*"))  # the failed jobs left nothing


class _SlowTSA(BaseHTTPRequestHandler):
    """A time-stamp authority that answers only once released: the exports asking it stay running."""

    release = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.release.wait(30)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_only_two_exports_run_at_once_and_a_third_is_refused(archive: Path, clients: list[TestClient]) -> None:
    tsa = ThreadingHTTPServer(("127.0.0.1", 0), _SlowTSA)
    tsa.daemon_threads = True
    threading.Thread(target=tsa.serve_forever, daemon=True).start()
    try:
        client = _client(clients, archive, tsa_url=f"http://127.0.0.1:{tsa.server_address[1]}/tsa")
        first = client.post("/api/exports?q=witness").json()
        second = client.post("/export", data={"all": "true"})
        assert second.status_code == 303
        third = client.post("/api/exports?q=witness")
        assert third.status_code == 429 and "at most 2 at once" in third.json()["detail"]
        page = client.post("/export", data={"q": "witness"})
        assert page.status_code == 429 and "try again when one has finished" in page.text
        direct = client.get("/api/export?q=witness")
        assert direct.status_code == 429, direct.text
        _SlowTSA.release.set()
        assert _wait(client, first["id"])["state"] == "failed"  # the TSA said no: nothing left
        _wait(client, second.headers["location"].rsplit("/", 1)[1])
        fourth = client.post("/api/exports?q=witness")  # slots free again once they ended
        assert fourth.status_code == 202
        _wait(client, fourth.json()["id"])
    finally:
        _SlowTSA.release.set()
        tsa.shutdown()
        tsa.server_close()
