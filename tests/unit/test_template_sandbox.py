"""An app's own template renders with limits: a slow or huge one is refused, not waited on."""

from __future__ import annotations

import time

import pytest

from paas import template_sandbox
from paas.errors import InvalidInput


def test_a_template_renders_as_jinja_would():
    assert template_sandbox.render("{% for u in ups %}server {{ u }};\n{% endfor %}", {"ups": ["a", "b"]}) == \
        "server a;\nserver b;\n"


def test_its_own_errors_are_reported():
    with pytest.raises(InvalidInput, match="does not render: 'nope' is undefined"):
        template_sandbox.render("{{ nope }}", {})
    with pytest.raises(InvalidInput, match="does not render: .*unsafe"):
        template_sandbox.render("{{ ''.__class__.__mro__ }}", {})


def test_an_endless_template_is_stopped(monkeypatch):
    monkeypatch.setattr(template_sandbox, "SECONDS", 1)
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="took longer than 1 s"):
        template_sandbox.render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", {})
    assert time.monotonic() - started < 10


def test_a_template_that_would_fill_memory_is_refused():
    with pytest.raises(InvalidInput, match="more than 256 MiB"):
        template_sandbox.render('{{ "x" * 10**10 }}', {})


def test_an_output_too_big_for_a_config_is_refused():
    with pytest.raises(InvalidInput, match="more than 1 MiB"):
        template_sandbox.render('{% for i in range(3) %}{{ "x" * 500000 }}{% endfor %}', {})


def test_any_error_of_the_template_is_reported_as_its_own():
    with pytest.raises(InvalidInput, match="does not render: division by zero"):
        template_sandbox.render("{{ 1 / 0 }}", {})
