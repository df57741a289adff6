"""Session cookies and CSRF tokens: signed, expiring, bound to one secret and one nonce."""

from __future__ import annotations

import pytest

from dashboards.session import SessionSigner, tokens_match

SECRET = b"s" * 32


class TestSessionSigner:
    def test_a_cookie_reads_back_until_it_expires(self) -> None:
        signer = SessionSigner(SECRET)
        cookie, token = signer.issue("key_1", now=1000.0, ttl_s=60)
        assert signer.read(cookie, now=1059.0) == token
        assert token.key_id == "key_1"
        assert signer.read(cookie, now=1060.0) is None

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda c: c.replace(".", ".x", 1),
            lambda c: "x" + c,
            lambda c: c.split(".")[0],
            lambda c: c + ".extra",
            lambda c: "not base64!.??",
        ],
    )
    def test_a_changed_cookie_is_no_session(self, mangle) -> None:  # type: ignore[no-untyped-def]
        signer = SessionSigner(SECRET)
        cookie, _ = signer.issue("key_1", now=0.0, ttl_s=60)
        assert signer.read(mangle(cookie), now=1.0) is None

    def test_another_secret_does_not_accept_the_cookie(self) -> None:
        cookie, _ = SessionSigner(SECRET).issue("key_1", now=0.0, ttl_s=60)
        assert SessionSigner(b"t" * 32).read(cookie, now=1.0) is None

    def test_csrf_tokens_differ_per_session_and_from_login_tokens(self) -> None:
        signer = SessionSigner(SECRET)
        _, first = signer.issue("key_1", now=0.0, ttl_s=60)
        _, second = signer.issue("key_1", now=0.0, ttl_s=60)
        assert signer.csrf_token(first.nonce) != signer.csrf_token(second.nonce)
        assert signer.csrf_token(first.nonce) != signer.login_token(first.nonce)
        assert tokens_match(signer.csrf_token(first.nonce), signer.csrf_token(first.nonce))
        assert not tokens_match(signer.csrf_token(first.nonce), None)

    def test_short_secrets_are_refused(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            SessionSigner(b"short")
