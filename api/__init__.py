"""The HTTP service: FastAPI app, request/response schemas and the staff web page, thin over govqa.Engine."""

from .app import app_factory, create_app

__all__ = ["app_factory", "create_app"]
