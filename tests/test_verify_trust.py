"""Time-stamp tokens are anchored only to authorities the reader trusts, and records without digests
are reported: the parts of `tawthiq verify` that need no capture (fast, in-process)."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawthiq.archivers.timestamps import load_trusted, check_token, request_token
from tawthiq.archivers.verify import UNPROVEN, verify_warc
from tests.local_tsa import LocalTSA

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


@pytest.fixture(scope="module")
def authorities() -> Iterator[tuple[LocalTSA, LocalTSA]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    issued, stranger = LocalTSA(issued_by_ca=True), LocalTSA()
    yield issued, stranger
    issued.stop()
    stranger.stop()


def test_a_token_is_anchored_by_its_issuing_ca_and_by_nothing_else(authorities: tuple[LocalTSA, LocalTSA],
                                                                   tmp_path: Path) -> None:
    issued, stranger = authorities
    digest = hashlib.sha256(b"the evidence").digest()
    token = request_token(issued.url, digest)
    assert issued.ca_path is not None
    by_ca = check_token(token, digest, trusted=load_trusted([issued.ca_path]))
    assert by_ca.ok and by_ca.anchored, by_ca
    by_leaf = check_token(token, digest, trusted=load_trusted([issued.certificate_path]))
    assert by_leaf.ok and by_leaf.anchored
    # A CA bundle holding other certificates as well still anchors it.
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(stranger.certificate + issued.ca_path.read_bytes())
    assert check_token(token, digest, trusted=load_trusted([bundle])).anchored
    # The certificate inside the token is never trusted by itself, nor is a certificate not in its chain.
    for trusted in ([], load_trusted([stranger.certificate_path])):
        result = check_token(token, digest, trusted=trusted)
        assert result.ok and not result.anchored and result.why_not_anchored
    # A leaf (not a CA) cannot issue: a token signed by a stranger is not anchored by the trusted leaf.
    other = request_token(stranger.url, digest)
    assert not check_token(other, digest, trusted=load_trusted([issued.certificate_path])).anchored
    # Another digest: not ok at all.
    assert not check_token(token, hashlib.sha256(b"other").digest(), trusted=load_trusted([issued.ca_path])).ok
    assert not check_token(b"\x30\x03\x02\x01\x00", digest).ok


def test_bad_trusted_certificate_files_are_one_line_errors(tmp_path: Path) -> None:
    from tawthiq.archivers.timestamps import TimestampError

    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    for path, message in ((junk, "not a PEM or DER certificate"), (tmp_path / "missing.pem", "missing.pem")):
        with pytest.raises(TimestampError, match=message):
            load_trusted([path])


def test_records_without_digests_are_reported_and_a_bare_warc_is_unproven(tmp_path: Path) -> None:
    block = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello"
    head = (f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:no-digest>\r\n"
            f"WARC-Target-URI: http://example.org/\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(block)}\r\n\r\n").encode()
    warc = tmp_path / "bare.warc.gz"
    warc.write_bytes(gzip.compress(head + block + b"\r\n\r\n"))
    report = verify_warc(warc)
    assert report.verdict == UNPROVEN
    assert any("carry no digest" in f and "<urn:uuid:no-digest>" in f and "WARC-Block-Digest" in f
               for f in report.facts), report.facts
