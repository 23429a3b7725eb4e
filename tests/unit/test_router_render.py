"""router.py: nginx text rendered from templates/nginx, checked with the real `nginx -t`.

No nginx master is started or signalled here: `router.reload` is replaced wherever
`router.apply` runs, and `nginx -t` only parses (it binds no port).
"""

from __future__ import annotations

import json
import re

import pytest

from paas import apps, domains, paths, router, settings, store
from paas.errors import DeployFailed, InvalidInput, ServiceUnavailable
from paas.models import Route

HTTP_PORT = 8088
UPSTREAMS = ["172.18.0.2:5000", "172.18.0.3:5000", "172.18.0.10:5000"]
DEFAULT_OPTIONS = {"client-max-body-size": "10m", "proxy-read-timeout": "60", "proxy-connect-timeout": "5",
                   "proxy-send-timeout": "60"}


@pytest.fixture
def server(paas_root):
    """A PAAS_ROOT as `server:up` leaves it: server.json, the app `demo`, a global domain."""
    paths.ensure_root()
    (paths.root() / "server.json").write_text(json.dumps({"http_port": HTTP_PORT, "http_bind": "127.0.0.1"}))
    apps.create("demo")
    settings.set_value("domains", None, "global", "example.test")
    return paas_root


@pytest.fixture
def reloads(monkeypatch) -> list[int]:
    """router.apply without touching any nginx process: reload is recorded, not done."""
    calls: list[int] = []
    monkeypatch.setattr(router, "reload", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(router, "start", lambda: pytest.fail("router.start must not run in unit tests"))
    return calls


def render(app: str = "demo", upstreams=UPSTREAMS) -> str:
    return router.render_app(router.route_for(app, list(upstreams)))


def directives(text: str) -> list[str]:
    """Non-comment lines, whitespace-normalised."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def install(changes: dict[str, str]) -> "paths.Path":
    """What apply() leaves on disk (apps/*.conf + nginx.conf), without its reload."""
    router._prepare_dirs()
    for app, text in changes.items():
        router.app_config_path(app).write_text(text)
    return router.write_main()


# route_for ------------------------------------------------------------------------------


def test_route_for_collects_hosts_upstreams_and_nginx_settings(server):
    domains.add("demo", "www.demo.org")
    route = router.route_for("demo", UPSTREAMS)
    assert route == Route(
        app="demo", hosts=("demo.example.test", "www.demo.org"), upstreams=tuple(UPSTREAMS),
        options={"client-max-body-size": "10m", "proxy-read-timeout": "60", "proxy-connect-timeout": "5",
                 "proxy-send-timeout": "60"},
    )


def test_route_for_without_global_domain_has_only_custom_domains(paas_root):
    apps.create("demo")
    assert router.route_for("demo", []).hosts == ()
    domains.add("demo", "demo.org")
    assert router.route_for("demo", []).hosts == ("demo.org",)


# render_app --------------------------------------------------------------------------------


def test_upstream_block_lists_every_address(server):
    lines = directives(render())
    start = lines.index("upstream paas-demo {")
    assert lines[start + 1 : start + 6] == [
        "server 172.18.0.2:5000;", "server 172.18.0.3:5000;", "server 172.18.0.10:5000;", "keepalive 32;", "}",
    ]
    assert "proxy_pass http://paas-demo;" in lines


def test_server_block_listen_and_server_names(server):
    domains.add("demo", "www.demo.org")
    domains.add("demo", "*.demo.net")
    lines = directives(render())
    assert f"listen 127.0.0.1:{HTTP_PORT};" in lines
    assert "server_name demo.example.test *.demo.net www.demo.org;" in lines


def test_listen_is_the_port_alone_without_a_bind_address(paas_root):
    apps.create("demo")
    assert "listen 80;" in directives(render())  # no server.json: port 80 on every address
    (paths.root() / "server.json").write_text(json.dumps({"http_port": 9000}))
    assert "listen 9000;" in directives(render())


def test_app_without_any_hostname_gets_an_unroutable_name(paas_root):
    apps.create("demo")
    assert "server_name demo.invalid;" in directives(render())


def test_forwarding_and_request_id_headers(server):
    lines = directives(render())
    for header in [
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Port $server_port;",
        "proxy_set_header X-Request-Id $request_id;",
    ]:
        assert header in lines


def test_websocket_upgrade(server):
    lines = directives(render())
    assert "proxy_http_version 1.1;" in lines
    assert "proxy_set_header Upgrade $http_upgrade;" in lines
    assert "proxy_set_header Connection $connection_upgrade;" in lines
    # $connection_upgrade is defined once, in the main config.
    main = directives(router.render_main(router.apps_dir()))
    assert main[main.index("map $http_upgrade $connection_upgrade {") + 1 : ][:3] == [
        "default upgrade;", "'' '';", "}",
    ]


def test_default_proxy_settings(server):
    lines = directives(render())
    assert "client_max_body_size 10m;" in lines
    assert "proxy_connect_timeout 5s;" in lines
    assert "proxy_read_timeout 60s;" in lines
    assert "proxy_send_timeout 60s;" in lines
    assert "proxy_next_upstream error timeout;" in lines


def test_nginx_set_reaches_the_config(server):
    settings.set_value("nginx", "demo", "client-max-body-size", "20M")
    settings.set_value("nginx", "demo", "proxy-read-timeout", "300")
    lines = directives(render())
    assert "client_max_body_size 20m;" in lines
    assert "proxy_read_timeout 300s;" in lines


def test_global_nginx_setting_applies_unless_the_app_overrides_it(server):
    apps.create("other")
    settings.set_value("nginx", None, "client-max-body-size", "1g")
    settings.set_value("nginx", "other", "client-max-body-size", "5m")
    assert "client_max_body_size 1g;" in directives(render("demo"))
    assert "client_max_body_size 5m;" in directives(render("other"))


def test_no_upstreams_answers_503(server):
    text = render(upstreams=[])
    lines = directives(text)
    assert "upstream" not in text
    assert not any(line.startswith("proxy_pass") for line in lines)
    location = lines.index("location / {")
    assert lines[location + 1 : location + 3] == ["return 503;", "}"]
    assert "error_page 502 503 504 @unavailable;" in lines
    assert 'return 503 "demo is not available right now. Try again in a moment.\\n";' in lines


def test_failed_upstreams_also_answer_the_friendly_503(server):
    lines = directives(render())
    assert "error_page 502 503 504 @unavailable;" in lines
    assert "location @unavailable {" in lines


@pytest.mark.parametrize(
    "upstream",
    [
        "1.2.3.4:80; evil",
        "1.2.3.4:80;\n    server 6.6.6.6:80",
        "1.2.3.4:80 backup",
        "1.2.3.4",
        "1.2.3.4:",
        ":80",
        "evil.test:80",
        "localhost:80",
        "1.2.3.4 :80",
        "1..2.3:80",
        "[::1]:80",
        "unix:/tmp/sock",
        "1.2.3.4:80}",
        "",
    ],
)
def test_hostile_or_malformed_upstreams_are_refused(upstream):
    route = Route(app="demo", hosts=("demo.example.test",), upstreams=("172.18.0.2:5000", upstream),
                  options=DEFAULT_OPTIONS)
    with pytest.raises(InvalidInput) as info:
        router.render_app(route)
    assert info.value.message == f"refusing to route to {upstream!r}: not an IPv4 address and port"


@pytest.mark.parametrize(
    "host",
    [
        "evil.test; return 200",
        "evil.test;",
        "a.test\n}",
        "a.test b.test",
        "a.test{",
        "$host",
        "~^(.*)$",
        "a.test\x00",
        "",
        "-bad.test",
        "a" * 64 + ".test",
    ],
)
def test_hostile_hosts_are_refused(host):
    route = Route(app="demo", hosts=("demo.example.test", host), upstreams=tuple(UPSTREAMS),
                  options=DEFAULT_OPTIONS)
    with pytest.raises(InvalidInput) as info:
        router.render_app(route)
    assert info.value.message.startswith("invalid domain ")


@pytest.mark.parametrize("app", ["demo; evil", "demo\n", "Demo", "../demo", "demo{"])
def test_hostile_app_names_are_refused(app):
    route = Route(app=app, hosts=(), upstreams=(), options=DEFAULT_OPTIONS)
    with pytest.raises(InvalidInput) as info:
        router.render_app(route)
    assert info.value.message.startswith("invalid app name ")


def test_rendered_text_holds_no_template_residue(server):
    text = render()
    assert "{{" not in text and "{%" not in text
    assert text.startswith("# demo: rendered by paas")


# render_main ------------------------------------------------------------------------------


def test_main_config_lives_under_the_prefix_and_includes_the_apps(server):
    prefix = router.prefix()
    # Paths may be quoted (a PAAS_ROOT can hold spaces); compare them unquoted.
    lines = [line.replace('"', "") for line in directives(router.render_main(router.apps_dir()))]
    assert f"pid {prefix}/nginx.pid;" in lines
    assert f"error_log {prefix}/logs/error.log warn;" in lines
    assert f"access_log {prefix}/logs/access.log;" in lines
    assert f"client_body_temp_path {prefix}/tmp/body;" in lines
    assert f"include {prefix}/apps/*.conf;" in lines
    assert lines[-2:] == [f"include {prefix}/apps/*.conf;", "}"]


def test_unknown_hosts_get_the_default_404_server(server):
    lines = directives(router.render_main(router.apps_dir()))
    assert f"listen 127.0.0.1:{HTTP_PORT} default_server;" in lines
    assert "server_name _;" in lines
    assert 'return 404 "No app is served at this address.\\n";' in lines


def test_main_config_names_a_worker_user_only_as_root(server):
    import os

    first = router.render_main(router.apps_dir()).splitlines()[1]
    if os.geteuid() == 0:
        assert re.fullmatch(r"user \S+ \S+;", first)
    else:
        assert first == "worker_processes auto;"


# nginx -t on what was rendered -----------------------------------------------------------


def test_nginx_accepts_a_rendered_set(server):
    apps.create("other")
    apps.create("idle")
    domains.add("demo", "www.demo.org")
    domains.add("other", "*.other.net")
    settings.set_value("nginx", "other", "client-max-body-size", "100m")
    main = install({
        "demo": render("demo"),
        "other": render("other", ["172.18.0.4:8000"]),
        "idle": render("idle", []),
    })
    router.check_config(main)  # raises DeployFailed with nginx's message otherwise


def test_nginx_accepts_the_main_config_without_apps(server):
    router.check_config(install({}))


def test_nginx_rejection_is_a_deploy_failure_with_its_message(server):
    main = install({"demo": render() + "\nthis is not nginx;\n"})
    with pytest.raises(DeployFailed) as info:
        router.check_config(main)
    assert info.value.message == "nginx rejected the new configuration; the old one keeps serving"
    assert "unknown directive" in info.value.hint
    assert "demo.conf" in info.value.hint
    assert info.value.exit_code == 7


def test_nginx_accepts_a_paas_root_with_a_space(tmp_path, monkeypatch):
    # `.paas-dev` lives in the checkout, and checkouts live in folders like "My Projects".
    monkeypatch.setenv("PAAS_ROOT", str(tmp_path / "my projects" / "paas root"))
    store.reset_connections()
    apps.create("demo")
    main = install({"demo": render(upstreams=["172.18.0.2:5000"])})
    try:
        router.check_config(main)
    except DeployFailed as exc:
        pytest.fail(f"nginx refused a config under {paths.root()}: {exc.hint}")


# apply (with reload replaced) ----------------------------------------------------------------


def test_apply_writes_checks_swaps_and_reloads(server, reloads):
    text = render()
    router.apply({"demo": text})
    assert router.app_config_path("demo").read_text() == text
    assert (router.prefix() / "nginx.conf").read_text() == router.render_main(router.apps_dir())
    assert reloads == [1]
    assert not list(router.prefix().glob("staging-*"))


def test_apply_none_removes_the_app(server, reloads):
    router.apply({"demo": render()})
    router.apply({"demo": None})
    assert not router.app_config_path("demo").exists()
    assert reloads == [1, 1]


def test_apply_refused_by_nginx_leaves_the_old_config_and_does_not_reload(server, reloads):
    good = render()
    router.apply({"demo": good})
    apps.create("other")
    with pytest.raises(DeployFailed):
        router.apply({"demo": render(upstreams=["172.18.0.9:5000"]), "other": "server { bogus; }\n"})
    assert router.app_config_path("demo").read_text() == good
    assert not router.app_config_path("other").exists()
    assert reloads == [1]
    assert not list(router.prefix().glob("staging-*"))


def test_a_reload_that_fails_puts_the_files_back_as_they_were(server, monkeypatch):
    """nginx was down and would not start (its port taken, say): the files on disk must still
    say what served before, since the next start or reload loads them."""
    good = render()
    monkeypatch.setattr(router, "reload", lambda drain=True: None)
    router.apply({"demo": good})
    main_before = (router.prefix() / "nginx.conf").read_text()
    apps.create("other")

    def nginx_will_not_start(drain=True):
        raise router.NginxDidNotStart("nginx did not start: bind() to 0.0.0.0:80 failed")

    monkeypatch.setattr(router, "reload", nginx_will_not_start)
    with pytest.raises(ServiceUnavailable):
        router.apply({"demo": render(upstreams=["172.18.0.9:5000"]), "other": render(app="other")})
    assert router.app_config_path("demo").read_text() == good
    assert not router.app_config_path("other").exists()
    assert (router.prefix() / "nginx.conf").read_text() == main_before
    assert not list(router.prefix().glob("staging-*"))


def test_a_reload_interrupted_once_nginx_was_signalled_keeps_the_new_files(server, monkeypatch):
    """After the SIGHUP nginx runs the new files (a Ctrl-C during the drain wait, say): they
    stay, or disk and nginx would disagree."""
    monkeypatch.setattr(router, "reload", lambda drain=True: None)
    router.apply({"demo": render()})

    def interrupted_after_the_signal(drain=True):
        raise KeyboardInterrupt

    monkeypatch.setattr(router, "reload", interrupted_after_the_signal)
    new = render(upstreams=["172.18.0.9:5000"])
    with pytest.raises(KeyboardInterrupt):
        router.apply({"demo": new})
    assert router.app_config_path("demo").read_text() == new


# An app's own nginx.conf.j2 (release.app_json["_nginx_template"]) ----------------------------

CUSTOM = """\
upstream paas-{{ app }} {
{% for upstream in upstreams %}
    server {{ upstream }};
{% endfor %}
}
server {
    listen {{ listen }};
    server_name {{ hosts | join(" ") }}EXTRA;
    client_max_body_size {{ options["client-max-body-size"] }};
    location / {
        add_header X-Custom "yes";
        proxy_pass http://paas-{{ app }};
    }
}
"""


def test_custom_template_renders_with_the_same_variables_and_passes_nginx(server):
    text = router.render_app(router.route_for("demo", UPSTREAMS), CUSTOM.replace("EXTRA", ""))
    lines = directives(text)
    assert "upstream paas-demo {" in lines
    assert [line for line in lines if line.startswith("server 172.")] == [f"server {u};" for u in UPSTREAMS]
    assert f"listen 127.0.0.1:{HTTP_PORT};" in lines
    assert "server_name demo.example.test;" in lines
    assert 'add_header X-Custom "yes";' in lines
    router.check_config(install({"demo": text}))


def test_custom_template_still_refuses_hostile_upstreams(server):
    with pytest.raises(InvalidInput):
        router.render_app(router.route_for("demo", ["1.2.3.4:80; evil"]), CUSTOM.replace("EXTRA", ""))


@pytest.mark.parametrize("extra", [" other.example.test", " www.other.org", " ~^(?<any>.+)$", " *.example.test"])
def test_custom_template_cannot_claim_hostnames_the_app_does_not_own(server, extra):
    # nginx keeps the first server block for a name and ignores later ones ("conflicting
    # server name ... ignored"), and apps/demo.conf sorts before apps/other.conf: a name in
    # demo's template would take other's traffic. Only the app's own hosts may be named.
    apps.create("other")
    domains.add("other", "www.other.org")
    with pytest.raises(InvalidInput):
        router.render_app(router.route_for("demo", UPSTREAMS), CUSTOM.replace("EXTRA", extra))


def test_routed_addresses_are_read_back_from_the_vhost(server):
    install({"demo": render(upstreams=["172.18.0.5:5000", "172.18.0.50:5000"])})
    # Every ADDRESS:PORT the text names; the listen address is never a container's.
    assert router.routed_addresses("demo") == {"172.18.0.5:5000", "172.18.0.50:5000", f"127.0.0.1:{HTTP_PORT}"}
    assert router.routed_addresses("ghost") == set()


def test_a_retire_never_stops_a_container_the_vhost_still_routes_to(server, deploy, monkeypatch):
    # A failure left nginx routing to a container the records call stale (an undo or a
    # recovery that could not finish): stopping it would answer 502 and free its address.
    from paas.models import RunningContainer

    install({"demo": render(upstreams=["172.18.0.5:5000"])})

    def container(address):
        return RunningContainer(id=address, name=f"demo-{address}", app="demo", process="web", index=1,
                                release=1, role="process", state="running", address=address, port=5000)

    routed, unrouted = container("172.18.0.5"), container("172.18.0.6")
    stopped = []
    monkeypatch.setattr(router, "wait_for_draining_workers", lambda: None)
    monkeypatch.setattr(deploy.scheduler, "stop_all", lambda cs, timeout: stopped.extend(c.id for c in cs))
    assert deploy._stop_after_drain("demo", [routed, unrouted]) == [unrouted]
    assert stopped == ["172.18.0.6"]


def test_a_setting_that_renders_the_same_vhost_reloads_nothing(server, deploy, reloads, monkeypatch):
    # nginx:set to the value it has: each reload cuts every app's long connections.
    from paas import proxy, releases
    from paas.models import RunningContainer

    version = releases.create("demo", description="v1", status="built", image="paas/demo:v1",
                              processes={"web": "python app.py"}).version
    releases.mark_live("demo", version)
    web = RunningContainer(id="c1", name="demo-web-1", app="demo", process="web", index=1, release=version,
                           role="process", state="running", address="172.18.0.5", port=5000)
    monkeypatch.setattr(deploy, "serving_containers", lambda app: [web])
    proxy.refresh("demo")
    assert len(reloads) == 1 and router.routed_addresses("demo") >= {"172.18.0.5:5000"}
    monkeypatch.setattr(router, "master_pid", lambda: 4242)  # nginx runs (reload is recorded, not sent)
    proxy.refresh("demo")
    assert len(reloads) == 1
    settings.set_value("nginx", "demo", "proxy-read-timeout", "90")
    proxy.refresh("demo")
    assert len(reloads) == 2
