"""An app may ship its own nginx.conf.j2: used when allowed, refused before any switch when not."""

from __future__ import annotations

import http.client

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("python")]

TEMPLATE = """upstream paas-{{ app }} {
{% for upstream in upstreams %}
    server {{ upstream }};
{% endfor %}
}
server {
    listen {{ listen }};
    server_name {{ hosts | join(" ") }};
    location / {
        add_header X-Custom-Template "yes";
        proxy_pass http://paas-{{ app }};
        proxy_set_header Host $http_host;
    }
}
"""


def _header(server, app, name):
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    conn.request("GET", "/", headers={"Host": f"{app}.{server.domain}"})
    response = conn.getresponse()
    response.read()
    return response.status, response.getheader(name)


def test_app_template_is_used_and_a_hostile_one_refused(server, make_app):
    source = make_app("python")
    source.write("nginx.conf.j2", TEMPLATE)
    source.commit("own nginx template")
    pushed = source.push()
    assert "Using the app's nginx.conf.j2" in pushed.stderr
    assert _header(server, source.app, "X-Custom-Template") == (200, "yes")
    shown = server.paas("nginx:show-config", source.app, check=True).stdout
    assert 'add_header X-Custom-Template "yes";' in shown
    # web=0: nothing for the template's upstream to name; the built-in vhost answers 503.
    server.paas("ps:scale", source.app, "web=0", check=True)
    assert _header(server, source.app, "X-Custom-Template") == (503, None)
    server.paas("ps:scale", source.app, "web=1", check=True)
    assert _header(server, source.app, "X-Custom-Template") == (200, "yes")

    source.write("nginx.conf.j2", TEMPLATE.replace("proxy_pass http://paas-{{ app }};",
                                                   "proxy_pass http://unix:/var/run/docker.sock:/;"))
    source.commit("hostile template")
    refused = source.push(check=False)
    assert refused.returncode != 0 and "proxy_pass may only target" in refused.stderr
    assert _header(server, source.app, "X-Custom-Template") == (200, "yes")

    # A server block of its own without listen: nginx would bind port 80 on every interface.
    source.write("nginx.conf.j2", TEMPLATE + 'server {\n    server_name {{ hosts | join(" ") }};\n    return 200;\n}\n')
    source.commit("a server block without listen")
    refused = source.push(check=False)
    assert refused.returncode != 0 and "every server block needs exactly one listen" in refused.stderr
    assert _header(server, source.app, "X-Custom-Template") == (200, "yes")


def test_a_template_nginx_rejects_fails_the_deploy_and_the_old_release_keeps_serving(server, make_app):
    source = make_app("python")
    source.write("nginx.conf.j2", TEMPLATE)
    source.commit("own nginx template")
    source.push()
    # Allowed directives, but `add_header` with one argument: only `nginx -t` finds it, while
    # the new containers settle.
    source.write("nginx.conf.j2", TEMPLATE.replace('add_header X-Custom-Template "yes";',
                                                   'add_header X-Custom-Template;'))
    source.commit("template nginx rejects")
    refused = source.push(check=False)
    assert refused.returncode != 0
    assert "nginx rejected the new configuration; the old one keeps serving" in refused.stderr
    assert "invalid number of arguments" in refused.stderr
    assert _header(server, source.app, "X-Custom-Template") == (200, "yes")
    releases = server.paas("releases", source.app, check=True).stdout
    assert "v2       failed" in releases and "v1       live" in releases
    assert not list((server.root / "nginx").glob("staging-*"))
    import subprocess

    def release_containers(version):
        return subprocess.run(["docker", "ps", "-aq", "--filter", f"label=paas.app={source.app}",
                               "--filter", f"label=paas.release={version}"],
                              capture_output=True, text=True, check=True).stdout.split()

    assert release_containers(2) == []
    assert len(release_containers(1)) == 1
