"""The exact response cache for descriptions.

The key is the SHA-256 of the canonical JSON (sorted keys, no whitespace) of merchant id,
product payload, style, model id, model revision and prompt template version: one
merchant's or one SKU's text can never be served for another, and a new model or template
invalidates by construction. In-process LRU by default; Redis when `LIFTMETER_CACHE__URL`
is set, so several gateway processes share it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Protocol

from liftmeter.settings import CacheSettings


def cache_key(**parts: Any) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class LRUCache:
    """A bounded, thread-safe in-process LRU."""

    def __init__(self, max_entries: int):
        self._max = max_entries
        self._data: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self._max == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)


class RedisCache:
    """The cache in Redis, JSON values with a TTL."""

    def __init__(self, url: str, ttl_s: int):
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=1.0)
        self._ttl = ttl_s

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._client.get(f"liftmeter:desc:{key}")
        return None if raw is None else dict(json.loads(raw))

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._client.set(f"liftmeter:desc:{key}", json.dumps(value), ex=self._ttl)


def build_cache(settings: CacheSettings) -> ResponseCache:
    if settings.url:
        return RedisCache(settings.url, settings.ttl_s)
    return LRUCache(settings.max_entries)
