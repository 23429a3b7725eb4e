# The README's two commands: `make demo` and `make test`. Both set the machine up first.
SHELL := /bin/bash
DEMO_ROOT ?= $(CURDIR)/.paas-dev
DEMO_SSH_PORT ?= 2222
DEMO_HTTP_PORT ?= 8080

.PHONY: bootstrap demo test unit integration bench clean-demo docs

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	@scripts/demo "$(DEMO_ROOT)" "$(DEMO_SSH_PORT)" "$(DEMO_HTTP_PORT)"

# Two passes: everything that can share the host runs on 2 workers, then the tests that
# restart dockerd or kill nginx run alone.
test: bootstrap
	@.venv/bin/python -m pytest -q -n 2 --dist loadgroup -m "not serial" tests
	@.venv/bin/python -m pytest -q -m serial tests

unit: bootstrap
	@.venv/bin/python -m pytest -q tests/unit

integration: bootstrap
	@.venv/bin/python -m pytest -q -n 2 --dist loadgroup -m "not serial" tests/integration

bench: bootstrap
	@.venv/bin/python bench/run.py

clean-demo:
	@scripts/clean-demo "$(DEMO_ROOT)"

docs: bootstrap
	@PAAS_ROOT=$$(mktemp -d) PAAS_LOCAL=1 .venv/bin/python scripts/gen_commands_doc.py
