"""Long-running processes: `tawthiq serve` (the web app) and `tawthiq worker` (queued captures)."""

from __future__ import annotations

from typing import Annotated

import typer

from tawthiq.cli.app import app
from tawthiq.cli.common import console, err
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import TawthiqError, Unavailable, UserError
from tawthiq.settings import SettingsError, load_settings


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False,
    cold: Annotated[bool, typer.Option(help="start a fresh Python process per run instead of forking "
                                            "this warm one (slower start; for comparison)")] = False,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Take capture runs from the Redis queue (scale-out: needs redis_url / TAWTHIQ_REDIS_URL)."""
    from redis.exceptions import RedisError

    from tawthiq.queue import run_worker, worker_identity

    settings = load_settings(data_dir, config)
    if not settings.redis_url:
        raise SettingsError("a worker needs a queue: set redis_url (TAWTHIQ_REDIS_URL), e.g. redis://127.0.0.1:6379/0")
    console.print(f"tawthiq worker {worker_identity(settings.worker_id)}: taking captures from "
                  f"{settings.redis_url.split('@')[-1]} for {settings.home}", highlight=False)
    if settings.search_backend == "tantivy":
        err.print("note: the search index is the embedded one, so this machine's index holds only what it "
                  "archives; with workers on several machines set search_backend = \"elasticsearch\"",
                  highlight=False)
    try:
        run_worker(settings, burst=burst, cold=cold)
    except TawthiqError:
        raise
    except RedisError as exc:  # Redis unreachable or gone away: try again later
        raise Unavailable(f"worker stopped: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - whatever else stopped it: one line, not a traceback
        raise TawthiqError(f"worker stopped: {type(exc).__name__}: {exc}") from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8080,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Run the web app: search and read the archive, manage sources, export and verify bundles."""
    from tawthiq.web.app import serve as run_server

    settings = load_settings(data_dir, config)
    if not 0 < port < 65536:
        raise UserError(f"--port must be between 1 and 65535, not {port}")
    from tawthiq.web.replay import host_of, listen_port, replay_origin

    mode = "read-only (set TAWTHIQ_TOKEN to allow changes)" if not settings.token else "changes need the token"
    replay = replay_origin(settings, host, port)
    if replay and host_of(replay) == host.lower():
        raise UserError(f"replay_origin {replay} has the app's host name {host}: browsers share cookies across "
                        "ports, so replayed scripts would reach the app; give it another host name")
    if replay and listen_port(settings, replay) == port:
        raise UserError(f"the replay listener ({replay}) would take the app's port {port}: give replay_origin "
                        "another port, or set replay_port")
    console.print(f"tawthiq web app on http://{host}:{port}/ for {settings.home}; {mode}", highlight=False)
    if not replay:
        err.print("note: no replay view for browser-captured pages: set replay_origin (another host name "
                  "than the app's)", highlight=False)
    elif not settings.replay_origin and not _free(host, listen_port(settings, replay)):
        err.print(f"note: no replay view: port {listen_port(settings, replay)} (the default replay origin, {replay}) "
                  "is taken; set replay_origin", highlight=False)
        replay = ""
    else:
        console.print(f"replay of browser-captured pages on {replay}/ (open the app as http://{host}:{port}/, "
                      "not under that host name)", highlight=False)
    run_server(settings, host, port, replay)


def _free(host: str, port: int) -> bool:
    """Whether `port` can be bound on `host` now (the default replay port is a guess, not a demand)."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
