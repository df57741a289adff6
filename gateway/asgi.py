"""ASGI entry point for uvicorn workers: `uvicorn gateway.asgi:app`."""

from gateway.app import create_app
from liftmeter.settings import load_settings

app = create_app(load_settings())
