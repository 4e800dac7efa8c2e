"""The proxy's spool files (see mitm_addon.py), read back as the exchanges the archive keeps.

Each file becomes an `Exchange` with the WARC headers that say how it was recorded: the recorder
(`WARC-Tawthiq-Recorder`), and the protocol that really travelled (`WARC-Protocol`: h2, http/1.1,
tls/1.3), since HTTP/2 request and status lines are written as HTTP/1.1.
A response that came chunked is framed again as one chunk, so the shared parser removes the
framing exactly as it does for captures taken off the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tawthiq.archivers.exchange import Exchange

RECORDER = "mitmproxy {version} (browser); headers and bodies as received, content-encoding kept, " \
           "chunk framing removed by the proxy and rebuilt; HTTP/2 request and status lines rebuilt as HTTP/1.1"


@dataclass
class ProxiedFlow:
    """One exchange the browser made, as the proxy recorded it."""

    path: Path
    url: str
    method: str
    raw_request: bytes
    raw_response: bytes
    meta: dict[str, Any]

    def discard(self) -> None:
        """The exchange is in the WARC: its spool file can go."""
        self.path.unlink(missing_ok=True)

    @property
    def error(self) -> str | None:
        return self.meta.get("error")

    @property
    def complete(self) -> bool:
        return bool(self.raw_response) and not self.error

    def exchange(self) -> Exchange:
        started = self.meta.get("started")
        when = datetime.fromtimestamp(started, timezone.utc) if started else datetime.now(timezone.utc)
        extra = [("WARC-Tawthiq-Recorder", RECORDER.format(version=self.meta.get("mitmproxy", "?")))]
        version = (self.meta.get("response_version") or self.meta.get("request_version") or "").lower()
        if version:
            extra.append(("WARC-Protocol", "h2" if version.startswith("http/2") else version))
        tls = self.meta.get("tls")
        if tls:
            extra.append(("WARC-Protocol", tls.lower().replace("tlsv", "tls/")))
        return Exchange(uri=self.url, method=self.method, raw_request=self.raw_request,
                        raw_response=_reframed(self.raw_response) if self.meta.get("chunked") else self.raw_response,
                        ip=self.meta.get("ip"), started=when, extra_headers=extra,
                        truncated="disconnect" if self.raw_response and self.error else None)


def _reframed(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return raw
    return head + sep + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" if body else head + sep + b"0\r\n\r\n"


def read_flow(path: Path) -> ProxiedFlow:
    data = path.read_bytes()
    line, _, rest = data.partition(b"\n")
    meta = json.loads(line)
    request_length = int(meta["request_length"])
    return ProxiedFlow(path=path, url=meta["url"], method=meta["method"],
                       raw_request=rest[:request_length],
                       raw_response=rest[request_length:request_length + int(meta["response_length"])], meta=meta)


def finished(spool: Path) -> list[ProxiedFlow]:
    """Every finished spool file, in the order the proxy finished them. The caller archives each,
    then `discard`s it: a capture killed in between leaves the file for the next run to archive."""
    return [read_flow(path) for path in sorted(spool.glob("*.flow"))]
