"""Browser capture, end to end (issue 15, "Done means"): Debian's chromium behind the recording
proxy, against sites on 127.0.0.1 that this file serves over HTTP and HTTPS.

Each site is its own server (its own port), and logs every request it answered; the test compares
that log with the capture's WARC, site by site: every request the browser made must be there as a
request record and a response (or revisit) record, each saying who recorded it. The pages only
show their text after their scripts ran (fetch(), an infinite timeline, a "read more" button), so
finding that text with `tawthiq search` proves the post was read from the rendered page.

All sites are captured in ONE `tawthiq capture` run (one browser start, the costly part) shared by
every test through a module-scoped fixture; small `--set` limits keep the whole file in seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tawthiq.demo.server import Incoming, LocalServer, Resource
from tests.conftest import run_tawthiq, warc_files


def _mitmdump() -> str | None:
    from tawthiq.crawlers.browser.proxy import ProxyError, find_mitmdump

    try:
        return find_mitmdump()
    except ProxyError:
        return None


pytestmark = [
    pytest.mark.skipif(not Path("/usr/bin/chromium").is_file(), reason="Debian's chromium (/usr/bin/chromium) "
                       "is not installed"),
    pytest.mark.skipif(_mitmdump() is None, reason="mitmproxy's mitmdump is not installed (make .venv-mitm/.installed)"),
]

HAS_FFMPEG = shutil.which("ffmpeg") is not None
VIEWPORT = (1280, 900)
SETTLE_SECONDS = 2.0
SCROLL_SECONDS = 15.0

# --------------------------------------------------------------------------------------------------
# The sites. Every page has `html, body {margin: 0}` and boxes of fixed height, so the height of
# the page as the browser lays it out is known here, and the screenshot's can be checked against it.

STATEMENT = {
    "title": "بيان الدفاع المدني - بلدة المثال",
    "paragraphs": [
        "أعلن الدفاع المدني في بلدة المثال أن فرقه أخمدت حريقا في مستودع الحبوب قرب حي الزعفرانية صباح اليوم.",
        "Civil defence teams in the synthetic town put out a fire at the grain depot near the {word} quarter "
        "this morning; nobody was hurt, according to the statement.",
        "وقال المتحدث إن التحقيق في أسباب الحريق ما زال جاريا، وإن الفرق ستبقى في الموقع حتى المساء.",
    ],
}

FETCH_PAGE = b"""<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>...</title>
<style>html, body {margin: 0} p {margin: 0; height: 40px; overflow: hidden}</style></head>
<body><main id="app"></main>
<script>
fetch('/api/statement.json').then(r => r.json()).then(d => {
  document.title = d.title;
  const app = document.getElementById('app');
  const h = document.createElement('h1'); h.textContent = d.title; h.style.margin = '0'; app.appendChild(h);
  for (const text of d.paragraphs) { const p = document.createElement('p'); p.textContent = text; app.appendChild(p); }
});
</script></body></html>"""


def fetch_site(word: str) -> LocalServer:
    """A page that ships an empty <main> and fills it from a JSON API (Arabic and English)."""
    srv = LocalServer()
    srv.routes["/statement.html"] = Resource(FETCH_PAGE)
    statement = {**STATEMENT, "paragraphs": [p.format(word=word) for p in STATEMENT["paragraphs"]]}
    # gzip-encoded and chunked, as many APIs answer: the archive must keep the encoded bytes.
    srv.routes["/api/statement.json"] = Resource(json.dumps(statement, ensure_ascii=False).encode(),
                                                 content_type="application/json", gzip=True, chunked=True,
                                                 chunk_size=100)
    return srv


POSTS, PER_PAGE = 60, 10
TIMELINE_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Synthetic harbour timeline</title>
<style>html, body {margin: 0} header {height: 100px; overflow: hidden} article {height: 150px; overflow: hidden}
#more {height: 1px}</style></head>
<body><header><h1>Harbour district, as it happens</h1></header><div id="feed"></div><div id="more"></div>
<script>
let page = 1, loading = false;
const more = document.getElementById('more'), feed = document.getElementById('feed');
async function load() {
  if (loading || !more.isConnected) return;
  loading = true;
  const d = await (await fetch('/api/timeline?page=' + page)).json();
  for (const p of d.posts) { const a = document.createElement('article'); a.innerHTML = '<p>' + p.text + '</p>'; feed.appendChild(a); }
  page++;
  if (!d.next) more.remove();  // the end: the page is exactly header + 60 posts high
  loading = false;
}
new IntersectionObserver(entries => { if (entries.some(e => e.isIntersecting)) load(); }).observe(more);
</script></body></html>"""


def timeline_text(n: int) -> str:
    last = " The harbourlark ferry was the last to leave." if n == POSTS else ""
    return f"Timeline post {n} of {POSTS}: synthetic report number {n} from the harbour district.{last}"


def timeline_site() -> LocalServer:
    """An infinite timeline: 60 posts, 10 a page from `/api/timeline?page=N`, loaded on scroll."""
    srv = LocalServer()
    srv.routes["/timeline.html"] = Resource(TIMELINE_PAGE)

    def api(incoming: Incoming) -> Resource:
        page = int(incoming.query.get("page", ["1"])[0])
        first = (page - 1) * PER_PAGE + 1
        posts = [{"text": timeline_text(n)} for n in range(first, min(first + PER_PAGE, POSTS + 1))]
        return Resource(json.dumps({"posts": posts, "next": first + PER_PAGE <= POSTS}).encode(),
                        content_type="application/json")

    srv.routes["/api/timeline"] = api
    return srv


LAZY_IMAGES = {"/img/flood-1.png": "data-src", "/img/flood-2.png": "data-src", "/img/flood-3.png": "data-srcset",
               "/img/flood-4.png": "loading=lazy"}
LAZY_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Flood photos</title>
<style>html, body {{margin: 0}} .spacer {{height: 3000px; overflow: hidden}} img {{display: block; width: 200px;
height: 200px}}</style></head>
<body><div class="spacer" id="caption"></div>
{images}
<script>document.getElementById('caption').textContent =
  'Photographs of the synthetic flood at the mossgrove bridge, sent by residents; scroll down for the pictures.';</script>
</body></html>"""


def _png(colour: tuple[int, int, int]) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, "PNG")
    return buf.getvalue()


def lazy_site() -> LocalServer:
    """Images far below the fold: two with only `data-src`, one with `data-srcset`, one native
    `loading=lazy`; none is fetched unless something brings it in."""
    srv = LocalServer()
    tags = []
    for i, (path, how) in enumerate(LAZY_IMAGES.items()):
        srv.routes[path] = Resource(_png((40 * i, 200 - 30 * i, 90)), content_type="image/png")
        attr = f'src="{path}" loading="lazy"' if how == "loading=lazy" else f'{how}="{path}"'
        tags.append(f'<img {attr} alt="flood photo {i + 1}">')
    srv.routes["/photos.html"] = Resource(LAZY_PAGE.format(images="\n".join(tags)).encode())
    # The spec names /photos, which redirects: the page is the one the browser ended on.
    srv.routes["/photos"] = Resource(b"", status=302, headers=[("Location", "/photos.html")])
    return srv


EXPANDER_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Relief committee statement</title>
<style>html, body {margin: 0}</style></head>
<body><article><h1>Statement of the synthetic relief committee</h1>
<p id="lead"></p><div id="rest"></div><button id="more" type="button">Read more</button></article>
<script>
document.getElementById('lead').textContent = 'The committee opened two shelters in the old school on Tuesday.';
document.getElementById('more').addEventListener('click', async () => {
  const d = await (await fetch('/api/rest', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                             body: JSON.stringify({statement: 'relief-7', part: 2})})).json();
  document.getElementById('rest').textContent = d.text;
  document.getElementById('more').remove();
});
</script></body></html>"""
REST_TEXT = ("The rest of the statement: families displaced by the flood receive blankets and lanternwick stoves, "
             "and volunteers register new arrivals at the gate every evening.")


def expander_site() -> LocalServer:
    """A statement whose second half is fetched (a POST, as many sites' APIs are) only when
    "Read more" is clicked."""
    srv = accept_posts(LocalServer())
    srv.routes["/statement.html"] = Resource(EXPANDER_PAGE)
    srv.routes["/api/rest"] = Resource(json.dumps({"text": REST_TEXT}).encode(), content_type="application/json")
    return srv


def accept_posts(srv: LocalServer) -> LocalServer:
    """LocalServer answers GET and HEAD; this makes it answer POST by the same routes, logging
    the request (method POST) and keeping each body in `srv.posted` by path."""
    srv.posted = {}  # type: ignore[attr-defined]

    def do_post(handler: Any) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        srv.posted[handler.path] = body  # type: ignore[attr-defined]
        handler.do_GET()  # logs Incoming(handler.command == "POST", ...) and answers the route

    srv.httpd.RequestHandlerClass.do_POST = do_post  # type: ignore[attr-defined]
    return srv


HLS_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Witness video</title>
<style>html, body {margin: 0}</style></head>
<body><p id="caption"></p><video id="v" muted width="320" height="240" src="/clip.mp4"></video>
<video id="live" muted width="320" height="240" src="/live/index.m3u8"></video>
<script>
document.getElementById('caption').textContent = 'Witness video of the synthetic convoy near the saltmarsh crossing.';
// What an HLS player (hls.js) does: fetch the playlist, then its first segment.
fetch('/hls/index.m3u8').then(r => r.text()).then(t => {
  const seg = t.split('\\n').find(l => l.endsWith('.ts'));
  return fetch('/hls/' + seg);
});
</script></body></html>"""


def hls_site(media: Path) -> LocalServer:
    srv = LocalServer()
    srv.routes["/watch.html"] = Resource(HLS_PAGE)
    srv.routes["/clip.mp4"] = Resource((media / "clip.mp4").read_bytes(), content_type="video/mp4")
    srv.routes["/hls/index.m3u8"] = Resource((media / "hls" / "index.m3u8").read_bytes(),
                                             content_type="application/vnd.apple.mpegurl")
    for seg in (media / "hls").glob("seg*.ts"):
        srv.routes[f"/hls/{seg.name}"] = Resource(seg.read_bytes(), content_type="video/mp2t")
        srv.routes[f"/live/{seg.name}"] = Resource(seg.read_bytes(), content_type="video/mp2t")
    srv.routes["/live/index.m3u8"] = srv.routes["/hls/index.m3u8"]
    return srv


FOREVER_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Live ticker</title>
<style>html, body {margin: 0}</style></head>
<body><main id="app"></main>
<script>
let n = 0;
async function tick() {
  const d = await (await fetch('/api/tick?n=' + n)).json();
  if (n === 0) document.getElementById('app').textContent = d.text;
  n++;
  setTimeout(tick, 100);  // forever: the network never goes quiet
}
tick();
fetch('/api/slow');  // an answer that comes long after the page is recorded
</script></body></html>"""


def forever_site() -> LocalServer:
    srv = LocalServer()
    srv.routes["/ticker.html"] = Resource(FOREVER_PAGE)
    srv.routes["/api/tick"] = lambda incoming: Resource(json.dumps({
        "text": "Live ticker of the synthetic port: the copperfinch crane is working again.",
        "n": incoming.query.get("n", ["?"])[0]}).encode(), content_type="application/json")

    def slow(incoming: Incoming) -> Resource:
        time.sleep(30)
        return Resource(b"{}", content_type="application/json")

    srv.routes["/api/slow"] = slow
    return srv


def make_media(root: Path) -> Path:
    """A 3 s H.264/AAC MP4 and the same stream as HLS (as tests/test_video.py makes them)."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(root / "clip.mp4")], check=True)
    (root / "hls").mkdir()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(root / "clip.mp4"), "-c", "copy", "-f", "hls",
                    "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_filename",
                    str(root / "hls" / "seg%d.ts"), str(root / "hls" / "index.m3u8")], check=True)
    return root


def make_tls(root: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA of the test's own and a certificate for 127.0.0.1 it signed: the proxy is told to
    trust the CA (browser_upstream_ca_file), as it would trust a site's public CA."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tawthiq test CA (synthetic)")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = root / "ca.pem", root / "server.pem", root / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


def https(srv: LocalServer, context: ssl.SSLContext) -> LocalServer:
    """The same server, speaking TLS (before it starts); its URLs become https://."""
    srv.httpd.socket = context.wrap_socket(srv.httpd.socket, server_side=True)
    srv.scheme = "https"  # type: ignore[attr-defined]
    return srv


# --------------------------------------------------------------------------------------------------
# Reading the capture back.

@dataclass
class Record:
    headers: list[tuple[str, str]]
    block: bytes

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), default)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def type(self) -> str:
        return self.get("WARC-Type")

    @property
    def uri(self) -> str:
        return self.get("WARC-Target-URI")

    @property
    def payload(self) -> bytes:
        """The HTTP body of a response record (the test servers send neither gzip nor chunks)."""
        return self.block.partition(b"\r\n\r\n")[2]


def read_records(data_dir: Path) -> list[Record]:
    """Every record of every WARC file, headers kept in order with repeats (WARC-Protocol repeats)."""
    import gzip

    out: list[Record] = []
    for path in warc_files(data_dir):
        data = gzip.decompress(path.read_bytes())
        pos = 0
        while pos < len(data):
            end = data.index(b"\r\n\r\n", pos)
            headers = []
            for line in data[pos:end].decode("utf-8").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
            length = int(next(v for k, v in headers if k == "Content-Length"))
            out.append(Record(headers, data[end + 4:end + 4 + length]))
            pos = end + 4 + length + 4
    return out


@dataclass
class Site:
    name: str
    server: LocalServer
    path: str  # what the spec names
    expected_height: int  # the page's full scroll height, from its CSS
    final_path: str = ""  # where the browser ended up, when `path` redirects

    @property
    def spec_url(self) -> str:
        return self.base + self.path

    @property
    def base(self) -> str:
        host, port = self.server.httpd.server_address[:2]
        return f"{getattr(self.server, 'scheme', 'http')}://{host}:{port}"

    @property
    def url(self) -> str:
        """The page captured: its post, evidence and metadata are about this URL."""
        return self.base + (self.final_path or self.path)


@dataclass
class Capture:
    data_dir: Path
    code: int
    output: str
    seconds: float
    sites: dict[str, Site]
    records: list[Record] = field(default_factory=list)

    def page_info(self, site: Site) -> dict:
        (record,) = [r for r in self.records if r.uri == f"urn:tawthiq:browser-page:{site.url}"]
        return json.loads(record.block)

    def resource(self, kind: str, site: Site) -> Record:
        (record,) = [r for r in self.records if r.type == "resource" and r.uri == f"urn:tawthiq:{kind}:{site.url}"]
        return record

    def browser_requests(self, site: Site) -> set[tuple[str, str]]:
        """(method, URL) of each request the site's server answered to the browser (its user agent:
        the yt-dlp fetcher's own requests are another recorder's)."""
        agent = self.page_info(site)["user_agent"]
        return {(r.method, site.base + r.raw_path) for r in self.server_log(site) if r.headers.get("User-Agent") == agent}

    def server_log(self, site: Site) -> list[Incoming]:
        return list(site.server.requests)

    def failures(self, url: str) -> list[Record]:
        return [r for r in self.records if r.get("WARC-Tawthiq-Kind") == "failure" and url in r.uri]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    root = tmp_path_factory.mktemp("browser")
    ca_file, tls = make_tls(root)
    sites = {
        "fetch": Site("fetch", fetch_site("quillfeather"), "/statement.html", VIEWPORT[1]),
        "timeline": Site("timeline", timeline_site(), "/timeline.html", 100 + POSTS * 150),
        "lazy": Site("lazy", lazy_site(), "/photos", 3000 + len(LAZY_IMAGES) * 200, final_path="/photos.html"),
        "expander": Site("expander", expander_site(), "/statement.html", VIEWPORT[1]),
        "https": Site("https", https(fetch_site("tlsmarigold"), tls), "/statement.html", VIEWPORT[1]),
        "forever": Site("forever", forever_site(), "/ticker.html", VIEWPORT[1]),
    }
    if HAS_FFMPEG:
        (root / "media").mkdir()
        media = make_media(root / "media")
        sites["hls"] = Site("hls", hls_site(media), "/watch.html", VIEWPORT[1])
    for site in sites.values():
        site.server.start()
    data_dir = root / "data"
    try:
        started = time.monotonic()
        result = run_tawthiq(
            ["capture", *(f"browser:{s.spec_url}" for s in sites.values()),
             "--set", f"browser_settle_seconds={SETTLE_SECONDS}", "--set", f"browser_scroll_seconds={SCROLL_SECONDS}",
             "--set", "browser_play_seconds=1", "--set", "browser_load_seconds=15",
             "--set", f"browser_upstream_ca_file={ca_file}"],
            data_dir=data_dir, timeout=170)
        seconds = time.monotonic() - started
        yield Capture(data_dir, result.code, result.out + result.err, seconds, sites, read_records(data_dir))
    finally:
        for site in sites.values():
            site.server.stop()


def search_hits(data_dir: Path, q: str) -> list[dict]:
    result = run_tawthiq(["search", "--json", "--limit", "100", "--data-dir", str(data_dir), "--", q])
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)["hits"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# --------------------------------------------------------------------------------------------------
# The checks every page gets.

ALL = ["fetch", "timeline", "lazy", "expander", "https", "forever", "hls"]
SEARCH_WORDS = {"fetch": "quillfeather", "timeline": "harbourlark", "lazy": "mossgrove", "expander": "lanternwick",
                "https": "tlsmarigold", "forever": "copperfinch", "hls": "saltmarsh"}


def _site(capture: Capture, name: str) -> Site:
    if name not in capture.sites:
        pytest.skip("ffmpeg is not installed: no HLS fixture")
    return capture.sites[name]


def test_the_capture_finishes_within_its_bounds(capture: Capture) -> None:
    assert capture.code == 0, capture.output
    assert "Traceback" not in capture.output
    # Seven pages, one browser start, a page that never settles among them: well under the
    # fixture's subprocess timeout, so nothing waited on an unbounded step.
    assert capture.seconds < 120, capture.output


@pytest.mark.parametrize("name", ALL)
def test_every_request_the_server_answered_is_in_the_warc(capture: Capture, name: str) -> None:
    site = _site(capture, name)
    asked = capture.browser_requests(site)
    assert {("GET", site.spec_url), ("GET", site.url)} <= asked and len(asked) >= 2, sorted(asked)
    requests = {r.uri: r for r in capture.records if r.type == "request" and r.uri.startswith(site.base + "/")}
    answers = {r.uri: r for r in capture.records if r.type in ("response", "revisit")
               and r.uri.startswith(site.base + "/")}
    recorded = {(r.block.split(b" ", 1)[0].decode(), uri) for uri, r in requests.items()}
    if name == "forever":
        # The page was still fetching when it was recorded: what was in flight then may have ended
        # as a failure (the browser tab closed), which is recorded as such, never dropped.
        missing = {(m, u) for m, u in asked - recorded if not capture.failures(u)}
        assert not missing, sorted(missing)
    else:
        assert asked <= recorded, sorted(asked - recorded)
        assert {u for _, u in asked} <= set(answers), sorted({u for _, u in asked} - set(answers))
    # Each HTTP record says what recorded it: the proxy for the browser's exchanges (yt-dlp's own,
    # on the HLS site, say yt-dlp).
    for record in [*requests.values(), *answers.values()]:
        if record.get("Content-Type").startswith("application/http"):
            assert record.get("WARC-Tawthiq-Recorder"), record.headers
    for method, url in asked & recorded:
        assert requests[url].get("WARC-Tawthiq-Recorder").startswith("mitmproxy ") or name == "hls"


@pytest.fixture(scope="module")
def searched(capture: Capture) -> dict[str, list[dict]]:
    """`tawthiq search WORD` for each page's script-only word, and one Arabic word; the CLI runs
    are side by side (each is mostly a Python start)."""
    from concurrent.futures import ThreadPoolExecutor

    words = [*SEARCH_WORDS.values(), "الزعفرانية"]
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(words, pool.map(lambda w: search_hits(capture.data_dir, w), words)))


@pytest.mark.parametrize("name", ALL)
def test_js_only_text_is_found_by_search(capture: Capture, searched: dict[str, list[dict]], name: str) -> None:
    site = _site(capture, name)
    hits = searched[SEARCH_WORDS[name]]
    assert [h["post_id"] for h in hits] == [site.url], hits


@pytest.mark.parametrize("name", ALL)
def test_screenshot_is_a_png_of_the_full_page(capture: Capture, name: str) -> None:
    site = _site(capture, name)
    info = capture.page_info(site)
    if name != "forever":
        assert info["errors"] == [] and all(b["error"] is None for b in info["behaviours"]), info
    shot = capture.resource("screenshot", site)
    assert shot.get("Content-Type") == "image/png"
    width, height = png_size(shot.block)
    assert [width, height] == info["screenshot_size"]
    assert (width, height) == (VIEWPORT[0], max(site.expected_height, VIEWPORT[1])), info["behaviours"]
    assert height >= info["viewport"]["height"] == VIEWPORT[1]
    page = next(r for r in capture.records if r.type in ("response", "revisit") and r.uri == site.url)
    for kind in ("screenshot", "pdf", "dom"):
        assert capture.resource(kind, site).get("WARC-Concurrent-To") == page.get("WARC-Record-ID")


# --------------------------------------------------------------------------------------------------
# What each page is there to prove.

def dom(capture: Capture, name: str) -> str:
    return capture.resource("dom", capture.sites[name]).block.decode("utf-8")


def test_text_that_only_fetch_renders_is_in_the_dom_and_the_post(capture: Capture,
                                                                 searched: dict[str, list[dict]]) -> None:
    site = capture.sites["fetch"]
    assert b"quillfeather" not in site.server.routes["/statement.html"].body  # type: ignore[union-attr]
    text = dom(capture, "fetch")
    assert "حي الزعفرانية" in text and "quillfeather quarter" in text
    # The Arabic words are searchable too (the fetch page, and the same page over HTTPS).
    # The HTTP and the HTTPS page say the same words: text near-duplicates, folded into one hit of
    # two copies (each kept).
    (hit,) = searched["الزعفرانية"]
    assert hit["post_id"] in {site.url, capture.sites["https"].url} and hit["cluster_size"] == 2
    # The API answered gzip-encoded and chunked: the record keeps the encoded bytes, framed as one chunk.
    (response,) = [r for r in capture.records if r.type == "response" and r.uri == site.base + "/api/statement.json"]
    head, _, framed = response.block.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower() and b"transfer-encoding: chunked" in head.lower()
    size, _, rest = framed.partition(b"\r\n")
    assert rest[:int(size, 16)] == site.server.served["/api/statement.json"] and rest[int(size, 16):] == b"\r\n0\r\n\r\n"


def test_all_sixty_timeline_posts_are_captured(capture: Capture) -> None:
    site = capture.sites["timeline"]
    text = dom(capture, "timeline")
    missing = [n for n in range(1, POSTS + 1) if timeline_text(n) not in text]
    assert not missing, f"posts not in the DOM record: {missing}"
    pages = {int(r.raw_path.rsplit("=", 1)[1]) for r in site.server.requests if r.path == "/api/timeline"}
    assert pages == set(range(1, POSTS // PER_PAGE + 1))
    scroll = next(b for b in capture.page_info(site)["behaviours"] if b["name"] == "scroll")
    assert scroll["result"]["stopped_by"] == "end" and scroll["result"]["height"] == site.expected_height


def test_lazy_images_are_archived_as_responses(capture: Capture) -> None:
    site = capture.sites["lazy"]
    (redirect,) = [r for r in capture.records if r.type == "response" and r.uri == site.spec_url]
    assert redirect.block.startswith(b"HTTP/1.1 302") and capture.page_info(site)["final_url"] == site.url
    for path in LAZY_IMAGES:
        (response,) = [r for r in capture.records if r.type == "response" and r.uri == site.base + path]
        assert response.payload == site.server.served[path]


def test_read_more_text_is_captured(capture: Capture) -> None:
    site = capture.sites["expander"]
    assert REST_TEXT in dom(capture, "expander")
    (response,) = [r for r in capture.records if r.type == "response" and r.uri == site.base + "/api/rest"]
    assert json.loads(response.payload)["text"] == REST_TEXT
    # The click's POST is archived with the body the page sent (replay tools index POST bodies).
    (request,) = [r for r in capture.records if r.type == "request" and r.uri == site.base + "/api/rest"]
    assert request.block.startswith(b"POST /api/rest HTTP/1.1\r\n")
    assert request.payload == site.server.posted["/api/rest"] == b'{"statement":"relief-7","part":2}'


def test_hls_manifest_goes_to_the_video_fetcher_and_the_video_is_archived(capture: Capture) -> None:
    site = _site(capture, "hls")
    manifest = site.base + "/hls/index.m3u8"
    assert manifest in capture.page_info(site)["manifests"]
    videos = {r.uri: r for r in capture.records if r.type in ("resource", "revisit")
              and r.get("Content-Type").startswith("video/")}
    live = site.base + "/live/index.m3u8"
    assert live in capture.page_info(site)["manifests"]
    # Two playlists of the same video (the second a <video src=.m3u8> chromium cannot play
    # natively): whichever yt-dlp finished first is the MP4 resource, the other a revisit of it.
    assert {manifest, live} <= set(videos), [(r.type, r.uri) for r in capture.records]
    (first,) = [videos[u] for u in (manifest, live) if videos[u].type == "resource"]
    (second,) = [videos[u] for u in (manifest, live) if videos[u].type == "revisit"]
    assert second.get("WARC-Refers-To") == first.get("WARC-Record-ID")
    assert first.block[4:8] == b"ftyp"
    # yt-dlp read the whole playlist: every segment, which the page alone never fetched.
    segments = {path for path in site.server.routes if path.endswith(".ts")}
    assert len(segments) >= 6  # /hls/ and /live/, three each
    assert {r.path for r in site.server.requests if r.path.endswith(".ts")} == segments
    live = site.base + "/live/index.m3u8"
    assert live in capture.page_info(site)["manifests"]
    # Two playlists of the same video (the second a <video src=.m3u8> chromium cannot play
    # natively): whichever yt-dlp finished first is the MP4 resource, the other a revisit of it.
    assert {manifest, live} <= set(videos), [(r.type, r.uri) for r in capture.records]
    (first,) = [videos[u] for u in (manifest, live) if videos[u].type == "resource"]
    (second,) = [videos[u] for u in (manifest, live) if videos[u].type == "revisit"]
    assert second.get("WARC-Refers-To") == first.get("WARC-Record-ID")
    assert first.block[4:8] == b"ftyp"


def test_https_records_say_tls(capture: Capture) -> None:
    site = capture.sites["https"]
    assert site.url.startswith("https://")
    records = [r for r in capture.records if r.type in ("request", "response") and r.uri.startswith(site.base + "/")]
    assert records
    for record in records:
        assert any(p.startswith("tls/1.") for p in record.all("WARC-Protocol")), record.headers
    assert "tlsmarigold quarter" in dom(capture, "https")


def test_a_page_that_never_settles_is_archived_with_a_recorded_problem(capture: Capture) -> None:
    site = capture.sites["forever"]
    info = capture.page_info(site)
    assert any("did not settle" in e for e in info["errors"]), info["errors"]
    problems = [r for r in capture.failures(site.url) if b"did not settle" in r.block]
    assert problems
    assert "copperfinch" in dom(capture, "forever")
    # Every wait stopped at browser_settle_seconds: once per behaviour, twice for the scroll (it
    # scrolls again once before it decides the page stopped growing), not the 5 s cap built in.
    for behaviour in info["behaviours"]:
        waits = 2 if behaviour["name"] == "scroll" else 1
        assert behaviour["seconds"] <= waits * SETTLE_SECONDS + 1.0, behaviour
    ticks = [r for r in site.server.requests if r.path == "/api/tick"]
    assert len(ticks) > 5  # it kept fetching, and what it fetched is in the WARC (the test above)
    # The request still unanswered when the tab closed is a failure record, not lost.
    (slow,) = capture.failures(site.base + "/api/slow")
    assert b"browser request failed" in slow.block
