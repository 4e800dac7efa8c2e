"""RFC 3161 time-stamp tokens from a configurable time-stamp authority (TSA).

A token proves that a digest existed at a time, signed by the TSA. Tokens are requested for
each WARC file when it is sealed (stored beside it as `NAME.warc.gz.tsr`) and for the custody
manifest of every export. No TSA configured means no token, and every report says so: a
token is never faked or self-issued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from tawthiq.errors import UserError


class TimestampError(UserError, ValueError):
    """The TSA could not be reached or its answer did not verify; the message says which."""


@dataclass
class TokenCheck:
    """What a token proves. `ok`: intact and it covers the digest (signature over the signed
    attributes, message imprint). `anchored`: its signer is, or was issued by, a trusted TSA
    certificate; a token that is ok but not anchored proves nothing about *when*: anyone can run
    a TSA and back-date its clock."""

    ok: bool
    time: datetime | None
    problem: str | None = None
    anchored: bool = False
    signer: str = ""
    why_not_anchored: str | None = None


def request_token(tsa_url: str, data_sha256: bytes, *, timeout: float = 30) -> bytes:
    """Ask the TSA for a token over a SHA-256 digest; returns the DER TimeStampToken."""
    import rfc3161ng

    stamper = rfc3161ng.RemoteTimestamper(tsa_url, hashname="sha256", include_tsa_certificate=True, timeout=timeout)
    try:
        return stamper(digest=data_sha256)
    except Exception as exc:  # noqa: BLE001 - network, HTTP and ASN.1 errors all end here
        raise TimestampError(f"time-stamp authority {tsa_url} failed: {type(exc).__name__}: {exc}") from None


def load_trusted(pem_paths: list[Path]) -> list[x509.Certificate]:
    """Trusted TSA certificates from PEM files (each may hold several, as a CA bundle does)."""
    certs: list[x509.Certificate] = []
    for path in pem_paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TimestampError(f"trusted TSA certificate file {path}: {exc.strerror or exc}") from None
        try:
            found = x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [
                x509.load_der_x509_certificate(data)]
        except ValueError:
            raise TimestampError(f"trusted TSA certificate file {path}: not a PEM or DER certificate") from None
        certs.extend(found)
    return certs


def _embedded_certs(signed_data) -> list[x509.Certificate]:  # type: ignore[no-untyped-def]
    from pyasn1.codec.der import encoder

    out = []
    try:
        for choice in signed_data["certificates"]:
            try:
                out.append(x509.load_der_x509_certificate(encoder.encode(choice[0])))
            except Exception:  # noqa: BLE001 - an unreadable embedded certificate is simply not a candidate
                continue
    except Exception:  # noqa: BLE001 - no certificates field
        pass
    return out


def _count_certs(signed_data) -> int:  # type: ignore[no-untyped-def]
    try:
        return len(signed_data["certificates"])
    except Exception:  # noqa: BLE001 - no certificates field
        return 0


def _signer_serial(signed_data) -> int | None:  # type: ignore[no-untyped-def]
    try:
        return int(signed_data["signerInfos"][0]["sid"]["issuerAndSerialNumber"]["serialNumber"])
    except Exception:  # noqa: BLE001 - a subjectKeyIdentifier sid, or none
        return None


def _is_timestamping(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.TIME_STAMPING in eku


def _anchor(signer: x509.Certificate, trusted: list[x509.Certificate], when: datetime) -> str | None:
    """None when `signer` is a trusted certificate or directly issued by one; else why not."""
    if not _is_timestamping(signer):
        return "its signer certificate lacks extendedKeyUsage timeStamping"
    if not (signer.not_valid_before_utc <= when <= signer.not_valid_after_utc):
        return f"its time {when:%Y-%m-%dT%H:%M:%SZ} is outside the signer certificate's validity"
    if not trusted:
        return "no trusted time-stamp authority is configured (setting tsa_certificate or --tsa-cert)"
    der = signer.public_bytes(serialization.Encoding.DER)
    for anchor in trusted:
        if anchor.public_bytes(serialization.Encoding.DER) == der:
            return None
    for anchor in trusted:
        try:
            if not anchor.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                continue
            signer.verify_directly_issued_by(anchor)
        except Exception:  # noqa: BLE001 - wrong issuer name, bad signature, unsupported key
            continue
        if anchor.not_valid_before_utc <= when <= anchor.not_valid_after_utc:
            return None
    return f"its authority ({signer.subject.rfc4514_string()}) is not among the trusted TSA certificates"


def check_token(token: bytes, data_sha256: bytes, *, trusted: list[x509.Certificate] | None = None) -> TokenCheck:
    """Does this token cover this digest with a valid signature, and does its signer chain to a
    trusted authority? The certificate inside a token is only a candidate, never trusted by itself."""
    import rfc3161ng
    from pyasn1.codec.der import decoder, encoder

    try:
        tst, rest = decoder.decode(token, asn1Spec=rfc3161ng.TimeStampToken())
        if rest:
            raise ValueError("extra bytes after the token")
        signed_data = tst.content
        embedded = _embedded_certs(signed_data)
        serial = _signer_serial(signed_data)
        # A token that embeds certificates is checked against those only (each must be readable), so
        # no byte of it goes unchecked; one without is checked against the trusted certificates.
        if _count_certs(signed_data) != len(embedded):
            raise ValueError("an embedded certificate is unreadable (altered)")
        candidates = [c for c in embedded if serial is None or c.serial_number == serial] if embedded \
            else list(trusted or [])
        if not candidates:
            raise ValueError("no signer certificate in the token and none trusted to try")
        signer, last = None, None
        for cand in candidates:
            try:
                rfc3161ng.check_timestamp(encoder.encode(tst), certificate=cand.public_bytes(serialization.Encoding.DER),
                                          digest=data_sha256, hashname="sha256")
                signer = cand
                break
            except Exception as exc:  # noqa: BLE001
                last = exc
        if signer is None:
            raise last or ValueError("signature does not verify")
        when = rfc3161ng.get_timestamp(tst, naive=False)
    except Exception as exc:  # noqa: BLE001 - ASN.1, signature and imprint errors all end here
        return TokenCheck(False, None, f"{type(exc).__name__}: {exc}")
    why = _anchor(signer, list(trusted or []), when)
    return TokenCheck(True, when, None, anchored=why is None, signer=signer.subject.rfc4514_string(),
                      why_not_anchored=why)


def sha256_file(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.digest()


def token_path(warc: Path) -> Path:
    return warc.with_name(warc.name + ".tsr")
