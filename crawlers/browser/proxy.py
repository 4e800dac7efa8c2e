"""The recording proxy in front of the browser: a `mitmdump` child process with tawthiq's addon
(mitm_addon.py), listening on 127.0.0.1, with a certificate authority of its own per data folder.

Why a proxy and not the browser's own network events (CDP, as Browsertrix does): the proxy sees
the bytes as they travelled, content-encoding included, whatever the page's scripts do, and the
browser cannot bypass it (service workers are blocked, QUIC is off). The CA is trusted by the
browsers tawthiq starts, and only by them: chromium is told the CA key's hash
(`--ignore-certificate-errors-spki-list`); nothing is added to the system's or a user's trust store.
mitmproxy signs every site's certificate with the CA's own key, so one hash covers them all.

The child dies with the capture (PR_SET_PDEATHSIG): a capture killed with SIGKILL leaves no proxy.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tawthiq.crawlers.browser.flows import ProxiedFlow, finished

ADDON = Path(__file__).with_name("mitm_addon.py")
CONTROL = "http://tawthiq-proxy.invalid/{token}/status"


class ProxyError(RuntimeError):
    """The recording proxy could not start or stopped answering; the page is not captured."""


def find_mitmdump(configured: str = "") -> str:
    """`configured`, else `mitmdump` beside this checkout (.venv-mitm, as the Makefile makes it),
    else on PATH."""
    if configured:
        if not Path(configured).is_file() and shutil.which(configured) is None:
            raise ProxyError(f"browser_mitmdump = {configured!r}: no such program")
        return configured
    checkout = Path(__file__).resolve().parents[2] / ".venv-mitm" / "bin" / "mitmdump"
    if checkout.is_file():
        return str(checkout)
    found = shutil.which("mitmdump")
    if found:
        return found
    raise ProxyError("browser capture needs mitmproxy's mitmdump: run `make .venv-mitm/.installed`, "
                     "or install mitmproxy and set browser_mitmdump")


def spki_hash(ca_pem: Path) -> str:
    """The base64 SHA-256 of the CA's SubjectPublicKeyInfo, as chromium's SPKI list wants it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _running(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _flatten(adopted: Path) -> None:
    """Move the spool files of folders `adopted` had itself adopted (a process killed after it
    adopted another's, at any depth) into `adopted`'s own spool, so none is left where
    `orphans` does not look and `forget_orphans` would delete it."""
    spool = adopted / "spool"
    spool.mkdir(mode=0o700, exist_ok=True)
    for nested in sorted(adopted.glob("adopted-proc-*")):
        _flatten(nested)
        for flow in sorted((nested / "spool").glob("*.flow")):
            target = spool / flow.name  # time-prefixed: unique per proxy run, but never overwrite
            if target.exists():
                target = spool / f"{flow.stem}-{nested.name}.flow"
            os.replace(flow, target)
        shutil.rmtree(nested, ignore_errors=True)


class RecordingProxy:
    """One mitmdump for one capture process; `start` it, point the browser at `address`, and
    `collect` what was recorded once a page is done."""

    def __init__(self, folder: Path, *, mitmdump: str = "", refuse_private: bool = True,
                 verify_upstream: bool = True, upstream_ca: str = "", start_timeout: float = 30.0,
                 max_body: str = "512m") -> None:
        self.folder = folder
        self.confdir = folder / "ca"  # one CA per data folder
        # Each capture process its own spool: workers sharing a data folder must not take each
        # other's exchanges.
        self.work = folder / f"proc-{os.getpid()}"
        self.spool = self.work / "spool"
        self._mitmdump = mitmdump
        self._refuse_private = refuse_private
        self._verify_upstream = verify_upstream
        self._upstream_ca = upstream_ca
        self._start_timeout = start_timeout
        self._max_body = max_body
        self._token = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def allow_file(self) -> Path:
        return self.work / "allowed-hosts"

    def allow(self, hosts: set[str]) -> None:
        """Hosts the proxy lets through whatever their address (the capture's seeds)."""
        part = self.allow_file.with_suffix(".part")
        part.write_text("".join(f"{h}\n" for h in sorted(hosts)), encoding="utf-8")
        os.replace(part, self.allow_file)

    @property
    def ca_cert(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def start(self) -> None:
        program = find_mitmdump(self._mitmdump)
        for path in (self.folder, self.confdir, self.work, self.spool):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Owner-only: the CA's private key, and spool files holding the requests' Cookie headers.
            os.chmod(path, 0o700)
        self.allow(set())
        self.port = _free_port()
        args = [program, "--quiet", "--listen-host", "127.0.0.1", "--listen-port", str(self.port),
                "-s", str(ADDON), "--set", f"confdir={self.confdir}", "--set", f"tawthiq_spool={self.spool}",
                "--set", f"tawthiq_token={self._token}",
                "--set", f"tawthiq_refuse_private={'true' if self._refuse_private else 'false'}",
                "--set", f"tawthiq_allow_file={self.allow_file}",
                # connection_strategy stays eager: the addon's http_connect hook refuses a private
                # host before mitmproxy opens anything (eager connects only when no response was
                # set). Lazy would offer h2 to the browser before knowing the server's ALPN, so an
                # HTTP/1.1 site would get h2-lowercased headers: not what the browser sends it.
                "--set", f"body_size_limit={self._max_body}",
                "--set", "http2=true", "--set", "termlog_verbosity=error", "--set", "flow_detail=0"]
        if not self._verify_upstream:
            args += ["--set", "ssl_insecure=true"]
        elif self._upstream_ca:
            args += ["--set", f"ssl_verify_upstream_trusted_ca={self._upstream_ca}"]
        log = open(self.work / "mitmdump.log", "ab")  # noqa: SIM115 - the child holds it
        try:
            self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             preexec_fn=_die_with_parent)
        finally:
            log.close()
        deadline = time.monotonic() + self._start_timeout
        while True:
            if self._process.poll() is not None:
                tail = (self.work / "mitmdump.log").read_text(errors="replace")[-400:].strip()
                raise ProxyError(f"the recording proxy exited at start (status {self._process.returncode}): {tail}")
            if self.ca_cert.exists():
                try:
                    self.status()
                    return
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise ProxyError(f"the recording proxy did not answer within {self._start_timeout:.0f} s")
            time.sleep(0.1)

    def status(self) -> dict[str, int]:
        """How many exchanges are in flight and written, asked through the proxy itself."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": self.address}))
        with opener.open(CONTROL.format(token=self._token), timeout=5) as answer:
            data: dict[str, int] = json.loads(answer.read())
        return data

    def settle(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until no exchange is in flight; False when some still were."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.status()["in_flight"] == 0:
                    return True
            except OSError as exc:
                raise ProxyError(f"the recording proxy stopped answering: {exc}") from exc
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def collect(self) -> list[ProxiedFlow]:
        """What the proxy finished recording so far (oldest first), still in the spool."""
        return finished(self.spool)

    def orphans(self) -> list[ProxiedFlow]:
        """Exchanges recorded for a capture process that died before archiving them (killed): they
        are evidence, so this process adopts them (its spool folder is moved into this one's)."""
        flows: list[ProxiedFlow] = []
        for other in sorted(self.folder.glob("proc-*")):
            if other == self.work or _running(other.name.removeprefix("proc-")):
                continue
            adopted = self.work / f"adopted-{other.name}"
            try:
                os.rename(other, adopted)  # atomic: two adopters cannot both take it
            except OSError:
                continue
            _flatten(adopted)
            flows += finished(adopted / "spool")
        return flows

    def forget_orphans(self) -> None:
        for adopted in self.work.glob("adopted-proc-*"):
            if not any((adopted / "spool").glob("*.flow")):
                shutil.rmtree(adopted, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not any(self.spool.glob("*.flow")) and not any(self.work.glob("adopted-*")):
            shutil.rmtree(self.work, ignore_errors=True)
