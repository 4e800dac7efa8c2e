"""The JSON API exercised against its own OpenAPI description with schemathesis: generated
requests (valid and invalid) to every operation, with the token, over a captured archive; no
answer may be a server error."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tawthiq.demo.server import LocalServer
from tawthiq.demo.site import install_demo_site
from tawthiq.settings import load_settings
from tawthiq.web.app import create_app
from tests.conftest import run_tawthiq

TOKEN = "schema-token"


def _archive(base: Path) -> Path:
    data = base / "data"
    srv = LocalServer()
    install_demo_site(srv, videos=False)
    with srv:
        result = run_tawthiq(["capture", f"feed:{srv.url('/feed.xml')}"], data_dir=data)
    assert result.code == 0, result.out + result.err
    return data


_DATA = None


def _app():  # type: ignore[no-untyped-def]
    import tempfile

    global _DATA
    if _DATA is None:
        _DATA = _archive(Path(tempfile.mkdtemp(prefix="tawthiq-api-")))
    return create_app(load_settings(_DATA, token=TOKEN))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_with_a_server_error(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error])


def test_the_openapi_description_lists_every_operation() -> None:
    paths = _app().openapi()["paths"]
    for path in ["/api/search", "/api/posts/{platform}/{post_id}", "/api/sources", "/api/sources/{name}",
                 "/api/runs", "/api/takedowns", "/api/export", "/api/verify"]:
        assert path in paths, path
    assert not any(p.startswith(("/search", "/post/", "/media/")) for p in paths)  # pages stay out


@pytest.mark.parametrize("path,status", [("/api/search?q=(broken", 400), ("/api/search?q=colour:red", 400),
                                         ("/api/posts/telegram/nope/1", 404), ("/api/export?q=zzzqqq", 400)])
def test_bad_requests_get_a_clear_message(path: str, status: int) -> None:
    from fastapi.testclient import TestClient

    response = TestClient(_app()).get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == status
    assert response.json()["detail"]


def test_changes_need_the_token() -> None:
    from fastapi.testclient import TestClient

    client = TestClient(_app())
    body = {"name": "n1", "spec": "telegram:some_channel", "every": "1h"}
    assert client.post("/api/sources", json=body).status_code == 401
    assert client.post("/api/sources", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/api/sources", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 201
    read_only = TestClient(create_app(load_settings(_DATA, token="")))
    assert read_only.post("/api/sources", json=body).status_code == 403
    assert "read-only" in read_only.post("/api/sources", json=body).json()["detail"]
