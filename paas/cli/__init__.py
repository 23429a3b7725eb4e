"""The typer CLI: one module per namespace, each registering on the root app."""

from paas.cli import access, apps, build, config, deploy, properties, ps, routing, runtime, server, stack  # noqa: F401
from paas.cli.base import app

__all__ = ["app"]
