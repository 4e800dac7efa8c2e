"""Evidence out: `tawthiq export` (a signed WACZ or .warc.gz with its custody manifest),
`tawthiq verify` (recompute and check everything) and `tawthiq keys` (the signing key)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from tawthiq.cli.app import app
from tawthiq.cli.common import console, human_bytes
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import NotFound, UserError
from tawthiq.settings import load_settings

keys_app = typer.Typer(help="The key that signs exports.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Create the signing key (DATA_DIR/keys/signing-key.pem, readable by you only)."""
    from tawthiq.archivers import signing

    settings = load_settings(data_dir, config)
    path = signing.create_key(settings.home)
    public = signing.public_key_b64(signing.load_key(settings.home))
    console.print(f"created {path}\npublic key fingerprint: {signing.fingerprint(public)}", highlight=False)


def _parse_day(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{name}: {value!r} is not a date like 2026-10-01 or 2026-10-01T06:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@app.command()
def export(
    query: Annotated[Optional[str], typer.Argument(help="a search query (as for `tawthiq search`): every matching post, copies included")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="the bundle to write (.wacz or .warc.gz)")] = Path("export.wacz"),
    ids: Annotated[Optional[str], typer.Option(help="comma-separated post ids, e.g. channel/123")] = None,
    since: Annotated[Optional[str], typer.Option(help="posts published from this date")] = None,
    until: Annotated[Optional[str], typer.Option(help="posts published up to this date")] = None,
    source: Annotated[Optional[str], typer.Option(help="posts of one source (channel name or feed URL)")] = None,
    collection: Annotated[Optional[str], typer.Option(help="posts captured in this collection")] = None,
    everything: Annotated[bool, typer.Option("--all", help="everything archived: every post and every other record")] = False,
    fmt: Annotated[str, typer.Option("--format", help="wacz or warc")] = "wacz",
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Export posts and every record that proves them as a signed WACZ (or .warc.gz) with a custody manifest."""
    from tawthiq.exporting import export_posts

    settings = load_settings(data_dir, config)
    if fmt not in ("wacz", "warc"):
        raise UserError(f"--format must be wacz or warc, not {fmt!r}")
    id_list = [i.strip() for i in ids.split(",") if i.strip()] if ids else None
    selection, result = export_posts(
        settings, output, fmt=fmt, query=query, ids=id_list, since=_parse_day(since, "--since"),
        until=_parse_day(until, "--until"), source=source, collection=collection, everything=everything)
    console.print(f"wrote {result.path}: {len(selection.items)} post(s), {result.records} records, "
                  f"{human_bytes(result.bytes)}; custody manifest {result.manifest_sha256}", highlight=False)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="a .wacz, a .warc.gz (with its .manifest.json sidecars), or a data directory")],
    key_fingerprint: Annotated[Optional[str], typer.Option(help="require signatures by this key (sha256:...)")] = None,
    tsa_cert: Annotated[Optional[list[Path]], typer.Option(
        "--tsa-cert", help="trust time-stamps from this TSA (PEM certificate or CA bundle; repeatable; "
                           "adds to the tsa_certificate setting)")] = None,
    config: ConfigFile = None,
) -> None:
    """Recompute every digest, check signatures and time-stamps; one line per problem, then a verdict:
    VERIFIED (exit 0), INTACT BUT UNPROVEN (exit 3: nothing proves who made it, anyone could have),
    FAILED (exit 1). Exit 2 is a mistake in the command itself."""
    from tawthiq.verifying import verify_path

    if not path.exists():
        raise NotFound(f"{path}: no such file or folder")
    if key_fingerprint is not None and not (key_fingerprint.startswith("sha256:") and len(key_fingerprint) == 71):
        raise UserError(f"--key-fingerprint: {key_fingerprint!r} is not a key fingerprint (sha256: and 64 hex digits)")
    settings = load_settings(path if path.is_dir() else None, config)
    report = verify_path(path, settings, key_fingerprint=key_fingerprint, tsa_certs=list(tsa_cert or []))
    for fact in report.facts:
        console.print(f"  {fact}", highlight=False, markup=False, soft_wrap=True)
    for problem in report.problems:
        console.print(f"PROBLEM {problem}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"{report.verdict}: {path}", highlight=False, markup=False)
    for line in report.summary():
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
