"""Shared fixtures: the shipped checkpoint, an engine on it, a live server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import torch
import uvicorn

from inference.checkpoint import Checkpoint, load_checkpoint
from inference.engine import GenerationEngine
from inference.metrics import EngineMetrics
from inference.server import create_app
from liftmeter.settings import Settings, load_settings

from support import free_port

torch.set_num_threads(2)
MODEL = "liftmeter-sparse-small"


@pytest.fixture(scope="session")
def checkpoint() -> Checkpoint:
    return load_checkpoint()


@pytest.fixture(scope="session")
def engine(checkpoint: Checkpoint) -> Iterator[GenerationEngine]:
    engine = GenerationEngine(
        checkpoint,
        model_name=MODEL,
        max_batch_size=8,
        batch_wait_ms=5.0,
        metrics=EngineMetrics(MODEL),
    )
    engine.start()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a background thread."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, checkpoint: Checkpoint) -> Iterator[LiveServer]:
    engine = GenerationEngine(checkpoint, model_name=MODEL, metrics=EngineMetrics(MODEL))
    with LiveServer(create_app(settings, engine=engine)) as server:
        yield server
