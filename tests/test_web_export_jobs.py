"""The web app's export runs in the background: the page polls a job that shows its progress,
offers the finished bundle for download, or says why it failed (issue 17)."""

from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tawthiq.demo.server import LocalServer, Resource
from tawthiq.settings import load_settings
from tawthiq.web.app import create_app
from tests.conftest import run_tawthiq

PAGE = b"<html><body>witness statement 5120, synthetic</body></html>"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("exports") / "data"
    with LocalServer({"/statement.html": Resource(PAGE)}) as srv:
        srv.routes["/feed.xml"] = Resource(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>reports</title><link>{srv.url("/")}</link>'
            f'<description>d</description><item><title>witness statement</title><link>{srv.url("/statement.html")}'
            f'</link><guid>s-1</guid><description>a witness speaks</description></item></channel></rss>'.encode(),
            content_type="application/rss+xml")
        result = run_tawthiq(["capture", f"feed:{srv.url('/feed.xml')}"], data_dir=data)
    assert result.code == 0, result.out + result.err
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
    started = client.get("/export?q=witness")
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
    page = client.get(f"/exports/{job['id']}")
    assert "The export failed" in page.text and "max_export_size" in page.text
    assert client.get(f"/exports/{job['id']}/file").status_code == 404
    nothing = _wait(client, client.post("/api/exports?q=nosuchwordanywhere").json()["id"])
    assert nothing["state"] == "failed" and nothing["error"]
    assert client.get("/api/exports/not-a-job").status_code == 404
    assert client.post("/api/exports").status_code == 400
    assert not list(Path(tempfile.gettempdir()).glob("tawthiq-exportjob-*/*"))  # the failed jobs left nothing
