"""The example app paas deploys in `make demo` and in the integration tests."""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    greeting = os.environ.get("GREETING", "Hello from paas")
    return f"{greeting}! release={os.environ.get('PAAS_RELEASE', '?')} process={os.environ.get('PAAS_PROCESS', '?')}\n"


@app.get("/health")
def health():
    return "ok\n"
