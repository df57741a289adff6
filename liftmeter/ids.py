"""Identifiers: event ids are UUIDs; entity ids are prefixed, sortable, URL-safe strings."""

from __future__ import annotations

import os
import time
import uuid


def new_event_id() -> uuid.UUID:
    """A fresh event id (UUIDv4): the dedupe key of every event."""
    return uuid.uuid4()


def new_id(prefix: str) -> str:
    """A prefixed id such as `mer_01j9…`: 48 bits of milliseconds then 80 random bits, base32.

    Ids sort by creation time, which keeps B-tree inserts local and listings stable.
    """
    millis = int(time.time() * 1000).to_bytes(6, "big")
    raw = int.from_bytes(millis + os.urandom(10), "big")
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    chars = []
    for _ in range(26):
        raw, rem = divmod(raw, 32)
        chars.append(alphabet[rem])
    return f"{prefix}_{''.join(reversed(chars))}"
