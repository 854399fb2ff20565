"""ASGI entry point for process managers: ``uvicorn kaifang.asgi:app`` (settings from the environment)."""

from kaifang.app import create_app

app = create_app()
