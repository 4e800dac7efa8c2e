"""What keeps archived content and the app apart, and who may change things.

- The app's pages carry a strict Content-Security-Policy (scripts only from /static).
- Archived HTML is never rendered in the app's origin: /raw/ serves it with `CSP: sandbox`
  (an opaque origin, scripts off), shown inside `<iframe sandbox>`, or as a download.
- Media are served with their captured type, `nosniff`, and `CSP: sandbox` (an SVG cannot
  script either).
- Changes need `TAWTHIQ_TOKEN`: the API takes `Authorization: Bearer TOKEN`; the pages take a
  session cookie set by /login (an HMAC of the token, HttpOnly, SameSite=Strict) plus a CSRF
  field in each form. Without a token configured the app is read-only.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException, Request

APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
           "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
ARCHIVED_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
SESSION_COOKIE = "tawthiq_session"


def _mac(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


class Guard:
    def __init__(self, token: str) -> None:
        self.token = token

    @property
    def read_only(self) -> bool:
        return not self.token

    def session_value(self) -> str:
        return _mac(self.token, "session")

    def csrf(self) -> str:
        return _mac(self.token, "csrf") if self.token else ""

    def logged_in(self, request: Request) -> bool:
        if not self.token:
            return False
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie, self.session_value())

    def check_token(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    def require_api(self, request: Request) -> None:
        if self.read_only:
            raise HTTPException(403, "read-only: start `tawthiq serve` with TAWTHIQ_TOKEN set to allow changes")
        auth = request.headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and self.check_token(auth[7:])):
            raise HTTPException(401, "this action needs the token: Authorization: Bearer TOKEN")

    def require_form(self, request: Request, csrf: str) -> None:
        if self.read_only:
            raise HTTPException(403, "read-only: start `tawthiq serve` with TAWTHIQ_TOKEN set to allow changes")
        if not self.logged_in(request):
            raise HTTPException(401, "sign in with the token first (Sign in, top right)")
        if not hmac.compare_digest(csrf.encode(), self.csrf().encode()):
            raise HTTPException(403, "the form is stale or was not sent by this app: reload the page")
