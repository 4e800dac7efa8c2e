"""Who may read the archive and how hard the door is (issue 13, finding 10 and web's share of 7).

The real FastAPI app over a real capture: in-process through Starlette's TestClient for the
access rules, and `tawthiq serve` itself for an upload streamed without a Content-Length.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tawthiq.settings import load_settings
from tawthiq.web.app import create_app
from tests.conftest import ROOT, capture_one_statement, query
from tests.ports import free_port, wait_for_port

TOKEN = "access-token-91c2"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
SECRET_PAGE = b"<html><body>witness statement 7731, not for the public</body></html>"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("access") / "data"
    capture_one_statement(data, SECRET_PAGE)
    return data


@pytest.fixture(scope="module")
def record_id(archive: Path) -> str:
    ((rid,),) = query(archive, "select record_id from records where rec_type = 'response' and uri like '%statement.html'")
    return rid


def _client(archive: Path, base_url: str = "http://testserver", **settings: object) -> TestClient:
    return TestClient(create_app(load_settings(archive, token=TOKEN, **settings)), base_url=base_url,
                      follow_redirects=False)


def test_with_a_token_every_read_needs_it(archive: Path, record_id: str) -> None:
    client = _client(archive)
    for path in ("/api/runs", "/api/takedowns", "/api/sources", "/api/search?q=witness",
                 "/api/export?q=witness", f"/raw/{record_id}", f"/media/{record_id}", "/search?q=witness",
                 "/runs", "/sources", "/verify", "/export?q=witness"):
        response = client.get(path)
        if path.startswith("/api/"):
            assert response.status_code == 401, path
            assert "needs the token" in response.json()["detail"]
        else:
            assert response.status_code == 303 and response.headers["location"] == "/login", path
        assert b"witness statement" not in response.content
    assert client.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    raw = client.get(f"/raw/{record_id}", headers=BEARER)
    assert raw.status_code == 200 and raw.content == SECRET_PAGE
    assert client.get("/api/runs", headers=BEARER).status_code == 200
    assert client.get("/login").status_code == 200 and client.get("/openapi.json").status_code == 200


def test_signed_in_pages_read_and_public_read_opens_reading(archive: Path, record_id: str) -> None:
    client = _client(archive)
    signed = client.post("/login", data={"token": TOKEN})
    assert signed.status_code == 303
    assert client.get(f"/raw/{record_id}").content == SECRET_PAGE
    assert client.get("/runs").status_code == 200
    public = _client(archive, public_read=True)
    assert public.get(f"/raw/{record_id}").content == SECRET_PAGE
    assert public.post("/api/sources", json={"name": "n", "spec": "telegram:x"}).status_code == 401  # still


def test_session_cookie_expires_and_is_secure_over_https(archive: Path, record_id: str) -> None:
    plain = _client(archive, session_max_age=3600).post("/login", data={"token": TOKEN})
    cookie = plain.headers["set-cookie"]
    assert "Max-Age=3600" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie
    secure = _client(archive, base_url="https://testserver").post("/login", data={"token": TOKEN})
    assert "Secure" in secure.headers["set-cookie"]
    # The server checks the expiry itself: an old cookie (or one with its expiry edited) is refused.
    app = create_app(load_settings(archive, token=TOKEN, session_max_age=60))
    guard = app.state.services.guard
    old = guard.session_value(now=time.time() - 120)
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("tawthiq_session", old)
    assert client.get(f"/raw/{record_id}").status_code == 303
    expires, _, mac = old.partition(".")
    client.cookies.set("tawthiq_session", f"{int(expires) + 10_000}.{mac}")
    assert client.get(f"/raw/{record_id}").status_code == 303
    client.cookies.set("tawthiq_session", guard.session_value())
    assert client.get(f"/raw/{record_id}").status_code == 200


def test_wrong_tokens_are_rate_limited_per_client(archive: Path) -> None:
    client = _client(archive, login_attempts=3, login_window=60)
    for _ in range(3):
        assert client.post("/login", data={"token": "guess"}).status_code == 401
    blocked = client.post("/login", data={"token": TOKEN})  # even the right one, until the window passes
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "too many wrong tokens" in blocked.text
    api = client.get("/api/runs", headers=BEARER)
    assert api.status_code == 429 and "too many wrong tokens" in api.json()["detail"]
    other = TestClient(client.app, client=("198.51.100.7", 50000), follow_redirects=False)
    assert other.post("/login", data={"token": TOKEN}).status_code == 303  # another client is not blocked


def test_export_over_the_bound_is_refused(archive: Path) -> None:
    response = _client(archive, max_export_size=1000).get("/api/export?q=witness", headers=BEARER)
    assert response.status_code == 413 and "max_export_size" in response.json()["detail"]
    assert not list(Path(tempfile.gettempdir()).glob("tawthiq-export-*/tawthiq-export.wacz"))


def test_upload_over_the_bound_is_refused_by_its_length(archive: Path) -> None:
    client = _client(archive, max_upload_size=10_000)
    response = client.post("/api/verify", headers=BEARER,
                           files={"bundle": ("big.wacz", b"x" * 20_000, "application/zip")})
    assert response.status_code == 413 and "max_upload_size" in response.json()["detail"]


@pytest.fixture
def served(archive: Path) -> Iterator[int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env.update(TAWTHIQ_TOKEN=TOKEN, TAWTHIQ_WEB_LOG="warning", TAWTHIQ_MAX_UPLOAD_SIZE="1000000",
               TMPDIR=str(archive.parent / "tmp"))
    (archive.parent / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "serve", "--port", str(port), "--data-dir",
                             str(archive)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if not wait_for_port(port):
        proc.kill()
        pytest.fail("tawthiq serve did not start: " + (proc.stdout.read() or b"").decode())
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


def test_a_streamed_upload_without_length_stops_at_the_bound(served: int, archive: Path) -> None:
    """Chunked, no Content-Length, 50 MB offered: refused once 1 MB has arrived; nothing kept on disk."""
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"big.wacz\"\r\n"
            "Content-Type: application/zip\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", served), timeout=20) as sock:
        sock.sendall((f"POST /api/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n").encode())
        sent = 0
        chunk = b"y" * 65536
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
            while sent < 50_000_000:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # the server stopped reading and closed: what we want
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    assert answer.startswith(b"HTTP/1.1 413"), (sent, answer[:300])
    assert sent < 50_000_000, answer[:300]
    assert not [p for p in (archive.parent / "tmp").rglob("*") if p.is_file()]
