"""The typer CLI: one module per namespace, each registering on the root app."""

from paas.cli import apps, config  # noqa: F401  (registration by import)
from paas.cli.base import app

__all__ = ["app"]
