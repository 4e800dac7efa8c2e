"""The proxy's spool files (see mitm_addon.py), read back as the exchanges the archive keeps.

Each file becomes an `Exchange` with the WARC headers that say how it was recorded: the recorder
(`WARC-Tawthiq-Recorder`), and the protocol that really travelled (`WARC-Protocol`: h2, http/1.1,
tls/1.3), since HTTP/2 request and status lines are written as HTTP/1.1.
A response that came chunked is framed again as one chunk, so the shared parser removes the
framing exactly as it does for captures taken off the wire.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tawthiq.archivers.exchange import Exchange

# Request headers that carry a login's credentials. A capture with a login profile writes them
# withheld (name kept, value replaced by its length and SHA-256) in the request records, so that
# the WARC, and every export of it, cannot be used to take over the account; the responses, the
# evidence, are kept as received.
CREDENTIAL_HEADERS = (b"cookie", b"authorization", b"proxy-authorization")
WITHHELD = "request header {names} withheld: a login profile's credential (value replaced by its length and SHA-256)"

RECORDER = "mitmproxy {version} (browser); header names, values, order and repeats as parsed by the proxy, " \
           "lines rebuilt as `Name: value` (whitespace around values not kept); bodies as received, " \
           "content-encoding kept, chunk framing removed by the proxy and rebuilt; HTTP/2 request and status " \
           "lines rebuilt as HTTP/1.1"


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

    def quarantine(self) -> Path:
        """The exchange could not be archived: its spool file is moved, kept whole, to the
        browser folder's `quarantine/` (beside the `proc-PID` folders, which are deleted once their
        spool is empty), where no later page reads it again; returns its new path."""
        procs = [p for p in self.path.parents if p.name.startswith("proc-")]
        folder = (procs[-1].parent if procs else self.path.parent.parent) / "quarantine"
        folder.mkdir(mode=0o700, exist_ok=True)
        target = folder / self.path.name
        os.replace(self.path, target)
        return target

    @property
    def error(self) -> str | None:
        return self.meta.get("error")

    @property
    def complete(self) -> bool:
        return bool(self.raw_response) and not self.error

    def exchange(self, *, withhold_credentials: bool = False) -> Exchange:
        """The exchange for the archive; `withhold_credentials`: the browser ran with a login
        profile, so its Cookie/Authorization request headers are not kept (see CREDENTIAL_HEADERS)."""
        started = self.meta.get("started")
        when = datetime.fromtimestamp(started, timezone.utc) if started else datetime.now(timezone.utc)
        extra = [("WARC-Tawthiq-Recorder", RECORDER.format(version=self.meta.get("mitmproxy", "?")))]
        raw_request = self.raw_request
        if withhold_credentials:
            raw_request, names = withheld(raw_request)
            if names:
                extra.append(("WARC-Tawthiq-Withheld", WITHHELD.format(names=", ".join(names))))
        version = (self.meta.get("response_version") or self.meta.get("request_version") or "").lower()
        if version:
            extra.append(("WARC-Protocol", "h2" if version.startswith("http/2") else version))
        tls = self.meta.get("tls")
        if tls:
            extra.append(("WARC-Protocol", tls.lower().replace("tlsv", "tls/")))
        return Exchange(uri=self.url, method=self.method, raw_request=raw_request,
                        raw_response=_reframed(self.raw_response, complete=not self.error) if self.meta.get("chunked")
                        else self.raw_response,
                        ip=self.meta.get("ip"), started=when, extra_headers=extra,
                        truncated="disconnect" if self.raw_response and self.error else None)


def withheld(raw_request: bytes) -> tuple[bytes, list[str]]:
    """`raw_request` with the value of each credential header replaced by
    `[withheld: N bytes, sha256:HEX]`; also the names of the headers withheld."""
    head, sep, body = raw_request.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    names: list[str] = []
    for i, line in enumerate(lines[1:], start=1):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in CREDENTIAL_HEADERS:
            value = value.strip()
            lines[i] = name + b": [withheld: %d bytes, sha256:%s]" % (len(value), hashlib.sha256(value).hexdigest().encode())
            if name.decode("latin-1") not in names:
                names.append(name.decode("latin-1"))
    return b"\r\n".join(lines) + sep + body, names


def _reframed(raw: bytes, *, complete: bool = True) -> bytes:
    """The body framed again as one chunk. A response that did not finish (`complete` False: the
    connection was cut) gets no terminating chunk, so the parser sees it incomplete and the
    record says `WARC-Truncated`; framing it whole would make a cut-off page look complete."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return raw
    framed = b"%x\r\n" % len(body) + body + b"\r\n" if body else b""
    return head + sep + framed + (b"0\r\n\r\n" if complete else b"")


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
