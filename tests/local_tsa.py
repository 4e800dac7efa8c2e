"""A real RFC 3161 time-stamp authority on 127.0.0.1 for tests: `openssl ts -reply` behind HTTP.

The TSA certificate is made here (self-signed, extendedKeyUsage critical timeStamping), so
the tokens are real RFC 3161 tokens that any verifier can check against that certificate.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = tawthiq test TSA (synthetic)
[ tsa_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class LocalTSA:
    """`backdate_days`: the TSA's clock runs that many days behind (libfaketime), as a forger's
    self-made authority would, to back-date evidence; its certificate is back-dated with it."""

    def __init__(self, backdate_days: int = 0, *, issued_by_ca: bool = False) -> None:
        wrap = ["faketime", "-f", f"-{backdate_days}d"] if backdate_days else []
        if wrap and shutil.which("faketime") is None:
            raise RuntimeError("a back-dated TSA needs libfaketime (Debian package faketime)")
        self.dir = Path(tempfile.mkdtemp(prefix="tawthiq-tsa-"))
        self.config = self.dir / "tsa.cnf"
        self.config.write_text(CONFIG.format(dir=self.dir))
        (self.dir / "serial").write_text("01\n")
        self.certificate_path = self.dir / "tsa.crt"
        self.ca_path: Path | None = None
        if issued_by_ca:  # a CA certificate that issues the TSA's, as public TSAs are set up
            self.ca_path = self.dir / "ca.crt"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.dir / "ca.key"),
                            "-out", str(self.ca_path), "-days", "2", "-subj", "/CN=tawthiq test TSA root (synthetic)",
                            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
                           check=True, capture_output=True)
            subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.dir / "tsa.key"),
                            "-out", str(self.dir / "tsa.csr"), "-config", str(self.config)], check=True, capture_output=True)
            subprocess.run(["openssl", "x509", "-req", "-in", str(self.dir / "tsa.csr"), "-CA", str(self.ca_path),
                            "-CAkey", str(self.dir / "ca.key"), "-CAcreateserial", "-out", str(self.certificate_path),
                            "-days", "2", "-extfile", str(self.config), "-extensions", "tsa_ext"],
                           check=True, capture_output=True)
        else:
            subprocess.run([*wrap, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            str(self.dir / "tsa.key"), "-out", str(self.dir / "tsa.crt"), "-days", "2",
                            "-config", str(self.config), "-extensions", "tsa_ext"], check=True, capture_output=True)
        self.certificate = (self.dir / "tsa.crt").read_bytes()
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with tempfile.TemporaryDirectory(dir=tsa.dir) as tmp:
                    (Path(tmp) / "q.tsq").write_bytes(query)
                    subprocess.run([*wrap, "openssl", "ts", "-reply", "-config", str(tsa.config), "-queryfile",
                                    str(Path(tmp) / "q.tsq"), "-out", str(Path(tmp) / "r.tsr")],
                                   check=True, capture_output=True)
                    reply = (Path(tmp) / "r.tsr").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsr"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
