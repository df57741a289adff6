"""Dashboard session cookies and CSRF tokens: HMAC-SHA256 signing, no server-side state.

A session cookie is `<payload>.<signature>`, both URL-safe base64: the payload is the
signed-in API key's id, a random nonce and the expiry (Unix seconds). Only the key id is
kept, never the secret; every request looks the key up again, so revoking a key ends its
dashboard sessions at once. The CSRF token of a session is HMAC(secret, "csrf:" + nonce):
it never travels in a cookie, so another site cannot read or forge it. Before sign-in the
login form is protected the same way by a nonce in a short-lived cookie of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

_CSRF = b"csrf:"
_LOGIN = b"login:"


@dataclass(frozen=True)
class SessionToken:
    """What a session cookie holds."""

    key_id: str
    nonce: str
    expires_at: int

    def is_live(self, now: float) -> bool:
        return now < self.expires_at


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and verifies session cookies and derives the CSRF tokens, with one secret."""

    def __init__(self, secret: bytes):
        if len(secret) < 32:
            raise ValueError("the session secret needs at least 32 bytes")
        self._secret = secret

    def _mac(self, message: bytes) -> bytes:
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def issue(self, key_id: str, *, now: float, ttl_s: int) -> tuple[str, SessionToken]:
        """A fresh session for `key_id`: the cookie value and what it holds."""
        token = SessionToken(key_id, secrets.token_urlsafe(16), int(now) + ttl_s)
        body = json.dumps(
            {"k": token.key_id, "n": token.nonce, "e": token.expires_at}, separators=(",", ":")
        ).encode()
        return f"{_b64(body)}.{_b64(self._mac(body))}", token

    def read(self, cookie: str | None, *, now: float) -> SessionToken | None:
        """The session of a cookie whose signature holds and that has not expired, else None."""
        if not cookie or cookie.count(".") != 1:
            return None
        body_b64, mac_b64 = cookie.split(".")
        try:
            body, mac = _unb64(body_b64), _unb64(mac_b64)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            data = json.loads(body)
            token = SessionToken(str(data["k"]), str(data["n"]), int(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return token if token.is_live(now) else None

    def csrf_token(self, nonce: str) -> str:
        """The CSRF token of the session with `nonce`."""
        return _b64(self._mac(_CSRF + nonce.encode()))

    def login_token(self, nonce: str) -> str:
        """The CSRF token of the sign-in form whose pre-session cookie holds `nonce`."""
        return _b64(self._mac(_LOGIN + nonce.encode()))


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def new_nonce() -> str:
    return secrets.token_urlsafe(16)
