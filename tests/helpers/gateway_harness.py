"""A harness for gateway tests: the real app on a real database, driven through httpx."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.keys import issue_key
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import Settings


@dataclass
class Harness:
    client: TestClient
    runtime: Runtime
    admin: dict[str, str]

    def merchant(self, name: str = "Shop", **key: Any) -> tuple[str, dict[str, str]]:
        """Create a merchant and a key with all merchant scopes; return (id, auth headers)."""
        r = self.client.post("/v1/merchants", json={"name": name}, headers=self.admin)
        assert r.status_code == 201, r.text
        mid = r.json()["id"]
        body = {
            "name": "k",
            "merchant_id": mid,
            "scopes": ["descriptions:write", "conversions:write", "usage:read", "invoices:read"],
            **key,
        }
        r = self.client.post("/v1/keys", json=body, headers=self.admin)
        assert r.status_code == 201, r.text
        return mid, {"Authorization": f"Bearer {r.json()['secret']}"}

    def staff(self, scope: str) -> dict[str, str]:
        r = self.client.post(
            "/v1/keys", json={"name": scope, "scopes": [scope]}, headers=self.admin
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['secret']}"}


@contextmanager
def harness_with(settings: Settings) -> Iterator[Harness]:
    """The app for `settings` (relay off: tests read the outbox), with an admin key."""
    settings = settings.model_copy(
        update={"gateway": settings.gateway.model_copy(update={"run_relay": False})}
    )
    runtime = open_runtime(settings)
    with runtime.sessions.begin() as session:
        admin = issue_key(session, merchant_id=None, name="admin", scopes=["admin"]).secret
    app = create_app(settings, runtime=runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Harness(client, runtime, {"Authorization": f"Bearer {admin}"})
    runtime.close()
