"""ASGI entry point for uvicorn workers: `uvicorn gateway.asgi:app`."""

from gateway.app import create_app
from liftmeter.logging import configure_logging
from liftmeter.settings import load_settings

settings = load_settings()
configure_logging(settings.log)
app = create_app(settings)
