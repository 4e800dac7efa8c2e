"""Verifying a bundle, a WARC file or a whole data directory: one service for the CLI (the web app
verifies uploads with the same verifiers). Time-stamps are anchored to the TSAs the
tsa_certificate setting names plus any the caller adds."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509

from tawthiq.archivers.timestamps import load_trusted
from tawthiq.archivers.verify import Report, verify_archive, verify_wacz, verify_warc
from tawthiq.catalog import Catalog
from tawthiq.settings import Settings


def trusted_tsas(settings: Settings, extra: list[Path] | None = None) -> list[x509.Certificate]:
    """The TSA certificates time-stamps must chain to (TimestampError names a file that is not one)."""
    files = [Path(p) for p in settings.tsa_certificate.split(os.pathsep) if p.strip()] \
        if settings.tsa_certificate else []
    return load_trusted(files + list(extra or []))


def verify_path(path: Path, settings: Settings, *, key_fingerprint: str | None = None,
                tsa_certs: list[Path] | None = None) -> Report:
    """The verification report for `path`: a data directory (its WARC files against the digests the
    catalog recorded when each was sealed), a .wacz, or a .warc.gz with its sidecars."""
    trusted = trusted_tsas(settings, tsa_certs)
    if path.is_dir():
        digests: dict[str, str | None] = {}
        if settings.has_catalog:
            catalog = Catalog(settings.catalog_url)
            try:
                digests = catalog.sealed_digests()
            finally:
                catalog.close()
        return verify_archive(settings.warcs_dir, digests, trusted=trusted)
    if path.suffix == ".wacz":
        return verify_wacz(path, key_fingerprint=key_fingerprint, trusted=trusted)
    return verify_warc(path, key_fingerprint=key_fingerprint, trusted=trusted)
