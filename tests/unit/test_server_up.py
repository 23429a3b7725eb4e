"""server:up records each service it starts as it starts it, so a later failure leaves
server:down able to stop it."""

from __future__ import annotations

import pytest

from paas import lifecycle, router, server
from paas.errors import ServiceUnavailable


def test_a_failing_step_leaves_what_started_before_it_on_record(paas_root, monkeypatch):
    monkeypatch.setattr(server, "ensure_dockerd", lambda: False)  # already answering: not ours
    monkeypatch.setattr(server, "_client_key", lambda: paas_root / "key")
    (paas_root / "key.pub").parent.mkdir(parents=True, exist_ok=True)
    (paas_root / "key.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCmnVSdqwQzuv0fVVyhSuLDqWPvYodrAeEeB4a+kJ1t x\n")
    monkeypatch.setattr(server, "ensure_sshd", lambda port, user: True)
    monkeypatch.setattr(router, "master_pid", lambda: None)
    monkeypatch.setattr(server, "port_free", lambda port: True)

    def nginx_fails():
        raise ServiceUnavailable("nginx did not start: bind() to 127.0.0.1:8080 failed")

    monkeypatch.setattr(router, "start", nginx_fails)
    with pytest.raises(ServiceUnavailable):
        server.up(2222, 8080, "paas.localhost")
    assert lifecycle.server_info()["started"] == {"sshd": True}
