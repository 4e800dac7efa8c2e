"""Signatures for exports, in the anonymous-key form of the WACZ Signing and Verification
recommendation (specs.webrecorder.net/wacz-auth/0.1.0): `datapackage-digest.json` carries
`signedData` = {hash, signature, publicKey, created, software}, where `signature` is ECDSA
(P-384, SHA-256, the raw r||s form WebCrypto produces and replay tools verify) over the UTF-8
bytes of `hash`, and `publicKey` is the base64 SubjectPublicKeyInfo.

The private key stays in `DATA_DIR/keys/` (mode 0600); the public key travels in every bundle,
and its fingerprint is what an investigator publishes or hands to a court.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from tawthiq.errors import UserError

CURVE = ec.SECP384R1()
_SIZE = 48  # bytes per coordinate on P-384


class SigningError(UserError, ValueError):
    """A key is missing or unreadable; the message says where it was looked for."""


def key_path(home: Path) -> Path:
    return Path(home) / "keys" / "signing-key.pem"


def create_key(home: Path) -> Path:
    path = key_path(home)
    if path.exists():
        raise SigningError(f"a signing key exists already at {path}; it is never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(CURVE)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return path


def load_key(home: Path) -> ec.EllipticCurvePrivateKey:
    path = key_path(home)
    if not path.exists():
        raise SigningError(f"no signing key at {path}: create one with `tawthiq keys create`")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SigningError(f"{path} is not an EC private key")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(spki).decode()


def fingerprint(public_key_b64_value: str) -> str:
    return "sha256:" + hashlib.sha256(base64.b64decode(public_key_b64_value)).hexdigest()


def sign_text(key: ec.EllipticCurvePrivateKey, text: str) -> str:
    der = key.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return base64.b64encode(r.to_bytes(_SIZE, "big") + s.to_bytes(_SIZE, "big")).decode()


def verify_text(public_key_b64_value: str, text: str, signature_b64: str) -> bool:
    try:
        public = serialization.load_der_public_key(base64.b64decode(public_key_b64_value))
        raw = base64.b64decode(signature_b64)
        if not isinstance(public, ec.EllipticCurvePublicKey) or len(raw) != 2 * _SIZE:
            return False
        der = encode_dss_signature(int.from_bytes(raw[:_SIZE], "big"), int.from_bytes(raw[_SIZE:], "big"))
        public.verify(der, text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):  # a key of another kind
        return False
