"""HTTP byte ranges (RFC 9110 section 14) for archived payloads streamed by the web app, so a
video player can seek without the whole file being sent or held.

One range per request: `bytes=START-END`, `bytes=START-` and `bytes=-SUFFIX`. A request for
several ranges is answered with the whole body (200), which RFC 9110 allows a server to do, and so
is a Range header that does not parse. A range that starts past the end is unsatisfiable (416)."""

from __future__ import annotations

import re

_ONE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """No byte of the range is in a payload of this size: answer 416 with `bytes */SIZE`."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the range is outside the {size} bytes of the payload")
        self.size = size


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end-exclusive) bytes a Range header asks for in a payload of `size` bytes, or
    None to send the whole payload (no header, one that does not parse, or several ranges)."""
    if not header:
        return None
    match = _ONE_RANGE.fullmatch(header)
    if match is None:  # malformed, another unit, or a list of ranges
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - suffix), size
    start = int(first)
    end = int(last) + 1 if last else size
    if last and end <= start:  # END before START: not a valid range, so ignored
        return None
    if start >= size:
        raise RangeNotSatisfiable(size)
    return start, min(end, size)
