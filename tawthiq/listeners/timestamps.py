"""RFC 3161 time-stamping of sealed WARC files (`tsa_url`): the token covers the sealed file's
SHA-256 and lives beside the file it covers (`NAME.warc.gz.tsr`). A TSA that does not answer
is an error in the run's summary; the capture and the file stand."""

from __future__ import annotations

from tawthiq.archivers import timestamps
from tawthiq.archivers.writer import SealedFile
from tawthiq.listeners.base import Listener, Report


class TimeStamping(Listener):
    def __init__(self, tsa_url: str, report: Report) -> None:
        self.tsa_url = tsa_url
        self.report = report

    def file_sealed(self, sealed: SealedFile) -> None:
        try:
            token = timestamps.request_token(self.tsa_url, bytes.fromhex(sealed.sha256))
            timestamps.token_path(sealed.path).write_bytes(token)
        except timestamps.TimestampError as exc:
            self.report(sealed.name, f"no time-stamp token: {exc}")
