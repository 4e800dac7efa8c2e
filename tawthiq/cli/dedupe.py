"""`tawthiq dedupe ...`: near-duplicate clusters of a folder or of the archive, and why two files
do or do not match."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from tawthiq.cli.common import console, err
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import NotFound, UserError
from tawthiq.settings import load_settings

dedupe_app = typer.Typer(help="Near-duplicate photos and videos: scan a folder, list the archive's clusters, "
                              "explain a pair.", no_args_is_help=True)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@dedupe_app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="image and video files, or folders (searched recursively)")],
    as_json: Annotated[bool, typer.Option("--json", help='print {"clusters": [[path, ...], ...], "errors": [...]}')] = False,
    max_pixels: Annotated[int, typer.Option(help="refuse images with more pixels than this")] = 150_000_000,
) -> None:
    """Cluster a folder of images and videos on its own (no archive needed). Exit 1 if a file
    could not be read (it is listed)."""
    from tawthiq.dedupe.scan import scan as run_scan

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise NotFound(f"no such file or folder: {missing[0]}")
    result = run_scan(paths, max_pixels=max_pixels)
    if as_json:
        _print_json(result.as_dict())
    else:
        console.print(f"{result.files} file(s), {len(result.clusters)} cluster(s) of near-duplicates", highlight=False)
        for i, members in enumerate(result.clusters, 1):
            console.print(f"\n[bold]cluster {i}[/] ({len(members)} files)")
            for path in members:
                how = result.details.get(path, {})
                method = f"  [dim]{how.get('method')}, {how.get('distance')} bits from the first[/]" if how.get("method") else ""
                console.print(f"  {escape(path)}{method}", highlight=False)
        for e in result.errors:
            err.print(f"not read: {escape(e['path'])}: {escape(e['error'])}", highlight=False)
    if result.errors:
        raise typer.Exit(1)


@dedupe_app.command()
def clusters(
    as_json: Annotated[bool, typer.Option("--json", help="print the clusters as JSON")] = False,
    min_size: Annotated[int, typer.Option(help="list clusters with at least this many distinct files")] = 2,
    text: Annotated[bool, typer.Option("--text", help="posts whose text is a copy (issue 16), not photos and videos")] = False,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """The archive's near-duplicate clusters, largest first, each copy with who posted it and when
    (`--text`: posts clustered by their text)."""
    from tawthiq.catalog import Catalog

    settings = load_settings(data_dir, config)
    if not settings.has_catalog:
        raise NotFound(f"no archive at {settings.home} (nothing captured yet)")
    if min_size < 1:
        raise UserError(f"--min-size must be 1 or more, not {min_size}")
    catalog = Catalog(settings.catalog_url)
    try:
        found = catalog.text_clusters(min_size) if text else catalog.clusters(min_size)
    finally:
        catalog.close()
    if as_json:
        _print_json({"clusters": found})
        return
    if text:
        console.print(f"{len(found)} text cluster(s) with {min_size} or more posts", highlight=False)
        for c in found:
            console.print(f"\n[bold]text:{c['cluster'][:16]}[/] {c['size']} posts", highlight=False)
            for m in c["members"]:
                how = f"{m['method']}, Jaccard {m['similarity']:.2f}" if m["method"] else "first"
                console.print(f"  {escape(m['id'])}  [dim]{how}[/]  {escape(m['author'] or m['source'] or '')} "
                              f"{m['published'] or '?'}", highlight=False)
        return
    console.print(f"{len(found)} cluster(s) with {min_size} or more files", highlight=False)
    for c in found:
        console.print(f"\n[bold]{c['cluster'][:16]}[/] {c['size']} files", highlight=False)
        for m in c["members"]:
            how = f"{m['method']}, {m['distance']} bits" if m["method"] else "first"
            posts = ", ".join(f"{p['id']} ({p['author'] or p['source']}, {p['published'] or '?'})" for p in m["posts"]) \
                or "no post (captured on its own)"
            console.print(f"  {m['kind']} {m['sha256'][:16]}  [dim]{how}[/]  {escape(posts)}", highlight=False)


def _load(ref: str, settings: Any) -> Any:
    """A file path, or the sha256 (or a prefix of 8+ characters) of an archived media file."""
    from tawthiq.dedupe.images import ImageRejected
    from tawthiq.dedupe.scan import analyse_file
    from tawthiq.dedupe.signature import analyse_image
    from tawthiq.dedupe.video import VideoRejected, video_signature

    path = Path(ref)
    try:
        if path.exists():
            return analyse_file(path)
        if settings is None or len(ref) < 8 or any(c not in "0123456789abcdef" for c in ref.lower()):
            raise UserError(f"{ref!r} is neither a file nor the sha256 of an archived media file")
        from tawthiq.archivers.payload import PayloadError, read_payload
        from tawthiq.catalog import Catalog

        catalog = Catalog(settings.catalog_url)
        try:
            rows = catalog.media_by_prefix(ref, limit=2)
        finally:
            catalog.close()
        if len({r.sha256 for r in rows}) != 1:
            raise NotFound(f"{ref!r} names {'no' if not rows else 'more than one'} archived media file")
        media = rows[0]
        try:
            body = read_payload(settings.warcs_dir, media.warc_file, media.warc_offset, 2 << 30).body
        except PayloadError as exc:
            raise PayloadError(f"{ref}: {exc}") from None
        return video_signature(body) if media.mime.startswith("video/") else analyse_image(body)
    except (ImageRejected, VideoRejected) as exc:
        raise UserError(f"{ref}: {exc}") from None


@dedupe_app.command()
def explain(
    a: Annotated[str, typer.Argument(help="a file, or an archived media file's sha256 (8+ characters)")],
    b: Annotated[str, typer.Argument(help="the other one")],
    as_json: Annotated[bool, typer.Option("--json", help="print the measurements as JSON")] = False,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Print the distances and checks for a pair of files, and the verdict."""
    from tawthiq.dedupe.explain import explain as run_explain

    settings = load_settings(data_dir, config) if not (Path(a).exists() and Path(b).exists()) else None
    report = run_explain(_load(a, settings), _load(b, settings))
    if as_json:
        _print_json(report)
        return
    console.print(f"[bold]{report['verdict']}[/]" + (f" ({report['method']})" if report.get("method") else ""),
                  highlight=False)
    for key, value in report.items():
        if key not in ("verdict", "method"):
            console.print(f"  {key}: {value}", highlight=False)


@dedupe_app.command()
def recluster(
    radius: Annotated[int, typer.Option(help="pHash bits within which a stored item is a hash candidate")] = 10,
    use_local: Annotated[bool, typer.Option("--local/--no-local",
                                            help="also match by local features (crops, rotations)")] = True,
    accept_version: Annotated[Optional[int], typer.Option("--accept", metavar="VERSION",
                                                          help="make this clustering version the one in force")] = None,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Cluster the archive's photos and videos again with other thresholds, as a new clustering
    version; the one in force stays until you accept the new one (`--accept VERSION`). Any
    version can be accepted again later, the capture-time one (version 1) included."""
    from tawthiq.catalog import Catalog
    from tawthiq.reclustering import accept, check_radius, propose

    settings = load_settings(data_dir, config)
    if not settings.has_catalog:
        raise NotFound(f"no archive at {settings.home} (nothing captured yet)")
    catalog = Catalog(settings.catalog_url)
    try:
        if accept_version is not None:
            done = accept(settings, catalog, accept_version)
            if done["already"]:
                console.print(f"clustering version {done['version']} is already the one in force", highlight=False)
            else:
                console.print(f"clustering version {done['version']} accepted: {done['moved']} item(s) changed "
                              f"cluster, {done['clusters']} cluster(s); run `tawthiq reindex --no-catalog` "
                              "for search to fold by it", highlight=False)
            return
        p = propose(settings, catalog, radius=check_radius(radius), use_local=use_local)
    finally:
        catalog.close()
    said = "already proposed as" if p.existing else "proposed as"
    console.print(f"{said} clustering version {p.version}: {p.items} item(s) in {p.clusters} cluster(s) "
                  f"(now {p.clusters_now}); {p.moved} item(s) would change cluster", highlight=False)
    for sha in p.kept:
        err.print(f"not re-read, its cluster kept: {sha}", highlight=False)
    console.print(f"accept it with `tawthiq dedupe recluster --accept {p.version}`", highlight=False)


@dedupe_app.command()
def clusterings(
    as_json: Annotated[bool, typer.Option("--json", help="print the versions as JSON")] = False,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """The clustering versions (`dedupe recluster`): which is in force, which are proposed."""
    from tawthiq.catalog import Catalog

    settings = load_settings(data_dir, config)
    if not settings.has_catalog:
        raise NotFound(f"no archive at {settings.home} (nothing captured yet)")
    catalog = Catalog(settings.catalog_url)
    try:
        found = [{"version": v.version, "state": v.state, "created": v.created, "settings": v.settings,
                  "items": v.items, "clusters": v.clusters} for v in catalog.clustering_versions()]
    finally:
        catalog.close()
    if as_json:
        _print_json({"versions": found})
        return
    if not found:
        console.print("only the capture-time clustering (no recluster run yet)", highlight=False)
    for v in found:
        console.print(f"{v['version']}  {v['state']:<10} {v['items']} item(s), {v['clusters']} cluster(s)  "
                      f"[dim]{json.dumps(v['settings'])}  {v['created']}[/]", highlight=False)
