"""What keeps archived content and the app apart, and who may change things.

- The app's pages carry a strict Content-Security-Policy (scripts only from /static).
- Archived HTML is never rendered in the app's origin: /raw/ serves it with `CSP: sandbox`
  (an opaque origin, scripts off), shown inside `<iframe sandbox>`, or as a download. A page
  captured in the browser is replayed with its scripts on, but only from the replay origin, under
  another host name than the app's (tawthiq.web.replay), framed from there.
- Media are served with their captured type, `nosniff`, and `CSP: sandbox` (an SVG cannot
  script either).
- Changes need `TAWTHIQ_TOKEN`: the API takes `Authorization: Bearer TOKEN`; the pages take a
  session cookie set by /login (its expiry and an HMAC of it under the token, HttpOnly,
  SameSite=Strict, Max-Age, Secure over HTTPS) plus a CSRF field in each form. Without a token
  configured the app is read-only.
- With a token set, reading needs it too (an archive of evidence is not public by accident):
  every page, /api, /raw and /media, exports. `public_read = true` opens reading deliberately.
- Wrong tokens (sign-in or API) are counted per client: after `login_attempts` failures within
  `login_window` seconds the client gets 429 until the window has passed.
- Request bodies (uploads to verify) are bounded by `max_upload_size` while they stream in:
  413, and the spooled part is discarded with the request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from typing import Any

from fastapi import HTTPException, Request

def app_csp(frame_src: str = "") -> str:
    """The app's policy; `frame_src`: one more origin its pages may frame (the replay origin)."""
    frames = f"'self' {frame_src}" if frame_src else "'self'"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
            f"frame-src {frames}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


APP_CSP = app_csp()
ARCHIVED_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
SESSION_COOKIE = "tawthiq_session"


def _mac(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


class FailureLimiter:
    """Failed token attempts per client in a sliding window (brute force costs the window)."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
        return times

    def wait(self, client: str) -> int:
        """Seconds until this client may try again (0: now)."""
        now = time.monotonic()
        times = self._recent(client, now)
        if len(times) < self.attempts:
            return 0
        return max(1, int(times[0] + self.window - now + 0.999))

    def failed(self, client: str) -> None:
        self._recent(client, time.monotonic())
        self._failures.setdefault(client, deque()).append(time.monotonic())
        if len(self._failures) > 100_000:  # bounded memory under a spray of addresses
            self._failures.pop(next(iter(self._failures)))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Guard:
    def __init__(self, token: str, *, public_read: bool = False, session_max_age: int = 43200,
                 login_attempts: int = 5, login_window: int = 300) -> None:
        self.token = token
        self.public_read = public_read
        self.session_max_age = session_max_age
        self.limiter = FailureLimiter(login_attempts, login_window)

    @property
    def read_only(self) -> bool:
        return not self.token

    def session_value(self, now: float | None = None) -> str:
        """`EXPIRY.MAC`: the server checks the expiry too, so an old cookie is worthless."""
        expires = int((now if now is not None else time.time()) + self.session_max_age)
        return f"{expires}.{_mac(self.token, f'session:{expires}')}"

    def csrf(self) -> str:
        return _mac(self.token, "csrf") if self.token else ""

    def logged_in(self, request: Request) -> bool:
        if not self.token:
            return False
        expires, _, mac = request.cookies.get(SESSION_COOKIE, "").partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(mac.encode(), _mac(self.token, f"session:{expires}").encode())

    def check_token(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    def check_attempt(self, request: Request, given: str) -> bool:
        """`check_token`, counted against the client: 429 once it has failed too often."""
        client = client_of(request)
        wait = self.limiter.wait(client)
        if wait:
            raise HTTPException(429, f"too many wrong tokens from {client}: try again in {wait}s",
                                headers={"Retry-After": str(wait)})
        if self.check_token(given):
            return True
        self.limiter.failed(client)
        return False

    def bearer_ok(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and self.check_attempt(request, auth[7:])

    def may_read(self, request: Request) -> bool:
        """Reading is open without a token (read-only app) or with public_read; else it needs the token."""
        if self.read_only or self.public_read or self.logged_in(request):
            return True
        return self.bearer_ok(request)

    def require_api(self, request: Request) -> None:
        if self.read_only:
            raise HTTPException(403, "read-only: start `tawthiq serve` with TAWTHIQ_TOKEN set to allow changes")
        if not self.bearer_ok(request):
            raise HTTPException(401, "this action needs the token: Authorization: Bearer TOKEN")

    def require_form(self, request: Request, csrf: str) -> None:
        if self.read_only:
            raise HTTPException(403, "read-only: start `tawthiq serve` with TAWTHIQ_TOKEN set to allow changes")
        if not self.logged_in(request):
            raise HTTPException(401, "sign in with the token first (Sign in, top right)")
        if not hmac.compare_digest(csrf.encode(), self.csrf().encode()):
            raise HTTPException(403, "the form is stale or was not sent by this app: reload the page")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        # Connection: close, or the server would go on reading (and discarding) the rest.
        super().__init__(413, f"upload too large: the limit is {limit} bytes (setting max_upload_size)",
                         headers={"Connection": "close"})


class BoundedBody:
    """ASGI middleware: a request body over `limit` bytes is refused while it streams in (413),
    by its Content-Length before a byte is read, or by counting when it has none."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _refuse(scope, send, self.limit)
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


async def _refuse(scope: dict, send: Any, limit: int) -> None:
    import json

    message = str(BodyTooLarge(limit).detail)
    if scope.get("path", "").startswith("/api/"):
        body, ctype = json.dumps({"detail": message}).encode(), b"application/json"
    else:
        body, ctype = message.encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
