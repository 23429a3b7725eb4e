"""Every shipped buildpack builds and serves its example through real git push, dockerd and nginx.

The tests share one xdist worker and Docker's layer cache. Destroying an app removes its
images and with them every layer no other image uses, the language runtime included; so one
app per example stays deployed for the whole module (`deployed`), keeping the runtime layers
warm for the other tests of the same language.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import uuid

import pytest

from tests.integration.conftest import EXAMPLES, Source

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("buildpacks")]

BUILT = re.compile(r"Built paas/\S+ in ([\d.]+)s")
GREETINGS = {
    "node": "Hello from node! release={release} built=yes",
    "go": "Hello from go! release={release}",
    "static": "<h1>Hello from static</h1>",
    "dockerfile": "<h1>Hello from dockerfile</h1>",
}
# The one file of each example holding its greeting: a code-only change edits it.
SOURCES = {"node": "server.js", "go": "main.go", "static": "public/index.html", "dockerfile": "site/index.html"}


def build_seconds(output: str) -> float:
    found = BUILT.findall(output)
    assert found, output
    return float(found[-1])


def lines_of(output: str) -> list[str]:
    """Push output as the server wrote it: git's `remote: ` prefix and padding removed."""
    return [re.sub(r"^remote:\s?", "", line).rstrip() for line in output.splitlines()]


def step_output(output: str, instruction: str) -> list[str]:
    """What the build printed for one Dockerfile step: the lines after `Step i/n : <instruction>`
    up to the next step."""
    lines, found, inside = lines_of(output), None, False
    for line in lines:
        text = line.strip()
        if text.startswith("Step ") and " : " in text:
            inside = text.split(" : ", 1)[1].startswith(instruction)
            found = [] if inside else found
            continue
        if inside and text:
            found.append(text)
    assert found is not None, f"no step {instruction!r} in:\n{output}"
    return found


def containers(app: str) -> list[str]:
    return subprocess.run(["docker", "ps", "-q", "--filter", f"label=paas.app={app}"],
                          capture_output=True, text=True, check=True).stdout.split()


def user_in(container: str) -> str:
    return subprocess.run(["docker", "exec", container, "id", "-un"], capture_output=True, text=True,
                          check=True).stdout.strip()


def headers(server, app: str, path: str) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    conn.request("GET", path, headers={"Host": f"{app}.{server.domain}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}


@pytest.fixture(scope="module")
def deployed(server, tmp_path_factory):
    """deployed("node") -> (Source, output of its first push): one app per example, pushed on
    first use and kept until the module ends."""
    apps: dict[str, tuple[Source, subprocess.CompletedProcess]] = {}

    def get(example: str) -> tuple[Source, subprocess.CompletedProcess]:
        if example not in apps:
            name = f"{example}-{uuid.uuid4().hex[:6]}"
            path = tmp_path_factory.mktemp("buildpacks") / name
            shutil.copytree(EXAMPLES / example, path)
            source = Source(path=path, server=server, app=name)
            source.git("init", "-q", "-b", "main")
            source.commit("initial")
            source.git("remote", "add", "paas", server.remote(name))
            apps[example] = (source, source.push())
        return apps[example]

    yield get
    for source, _ in apps.values():
        server.paas("apps:destroy", source.app, "--force")


@pytest.mark.parametrize("example", ["node", "go", "static", "dockerfile"])
def test_example_builds_serves_and_rebuilds_after_a_code_change(server, deployed, example):
    source, pushed = deployed(example)
    assert f"{example} buildpack detected" in pushed.stderr
    assert f"{source.app} v1 is live" in pushed.stderr, pushed.stderr
    status, body = server.get(source.app)
    assert status == 200 and GREETINGS[example].format(release="v1") in body, body
    assert server.get(source.app, "/health") == (200, "ok\n")
    # Buildpack apps run as the unprivileged user; the Dockerfile example says USER app itself.
    assert {user_in(c) for c in containers(source.app)} == {"app"}

    # A code-only change rebuilds on the cached runtime and dependency layers.
    path = source.path / SOURCES[example]
    path.write_text(path.read_text().replace("Hello from", "Hello again from"))
    source.commit("code-only change")
    repushed = source.push()
    assert f"{source.app} v2 is live" in repushed.stderr, repushed.stderr
    status, body = server.get(source.app)
    assert status == 200 and GREETINGS[example].replace("Hello", "Hello again").format(release="v2") in body
    print(f"\n[{example}] build seconds: first push {build_seconds(pushed.stderr):.1f}, "
          f"code-only change {build_seconds(repushed.stderr):.1f}")


def test_node_code_only_change_reuses_the_npm_ci_layer(server, deployed, make_app):
    deployed("node")  # the nodejs runtime layer stays cached
    source = make_app("node")
    # A package.json of its own makes this test's dependency layer cold whatever ran before.
    package = json.loads((source.path / "package.json").read_text())
    package["description"] = f"cache test {uuid.uuid4().hex}"
    source.write("package.json", json.dumps(package, indent=2) + "\n")
    source.commit("own package.json")
    first = source.push()
    installed = step_output(first.stderr, "RUN npm ci")
    assert any(re.search(r"added 1 package", line) for line in installed), installed
    assert any("npm run build" in line for line in lines_of(first.stderr))

    source.write("server.js", (source.path / "server.js").read_text().replace("Hello from", "Hi from"))
    source.commit("code-only change")
    second = source.push()
    cached = step_output(second.stderr, "RUN npm ci")
    # npm did not run: the step printed nothing of its own (or only Docker's "Using cache").
    assert all("Using cache" in line for line in cached), cached
    # The code layer and the build script after it did run again.
    assert step_output(second.stderr, "RUN npm run build")
    assert server.get(source.app)[1].startswith("Hi from node! release=v2 built=yes")
    print(f"\n[node cache] build seconds: cold deps {build_seconds(first.stderr):.1f}, "
          f"code-only {build_seconds(second.stderr):.1f}")


def test_static_site_sends_caching_headers(server, deployed):
    source, _ = deployed("static")
    status, sent = headers(server, source.app, "/")
    assert status == 200 and sent["cache-control"] == "no-cache" and sent["content-type"].startswith("text/html")
    status, sent = headers(server, source.app, "/style.3f9a1c2b.css")
    assert status == 200 and sent["cache-control"] == "public, max-age=31536000, immutable"
    assert sent["content-type"].startswith("text/css")
    status, sent = headers(server, source.app, "/health")
    assert status == 200 and sent["cache-control"] == "public, max-age=3600"
    assert headers(server, source.app, "/missing.png")[0] == 404
    assert headers(server, source.app, "/.env")[0] == 404


def test_go_vendored_module_builds_without_network(server, deployed, make_app):
    deployed("go")  # the golang runtime layer stays cached
    source = make_app("go")
    vendored = source.path / "vendor" / "example.com" / "greet"
    vendored.mkdir(parents=True)
    (vendored / "greet.go").write_text(
        'package greet\n\nfunc Hello(who string) string { return "Hello from vendored " + who }\n')
    source.write("vendor/modules.txt", "# example.com/greet v1.0.0\n## explicit; go 1.19\nexample.com/greet\n")
    source.write("go.mod", "module example.com/paas-example-go\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n")
    main = (source.path / "main.go").read_text()
    main = main.replace('"os"\n', '"os"\n\n\t"example.com/greet"\n').replace(
        'fmt.Fprintf(w, "Hello from go! release=%s\\n", os.Getenv("PAAS_RELEASE"))',
        'fmt.Fprintf(w, "%s! release=%s\\n", greet.Hello("go"), os.Getenv("PAAS_RELEASE"))')
    source.write("main.go", main)
    source.commit("vendor a module")
    pushed = source.push()
    assert "RUN go build $(grep -v '^#' vendor/modules.txt)" in pushed.stderr
    assert server.get(source.app) == (200, "Hello from vendored go! release=v1\n")


def test_go_module_that_is_not_vendored_fails_clearly_and_changes_nothing(server, deployed, make_app):
    deployed("go")
    source = make_app("go")
    source.write("go.mod", "module example.com/paas-example-go\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n")
    source.write("main.go", (source.path / "main.go").read_text().replace('"os"\n', '"os"\n\n\t"example.com/greet"\n')
                 .replace('os.Getenv("PAAS_RELEASE"))', 'os.Getenv("PAAS_RELEASE")+greet.Hello("go"))'))
    source.commit("an unvendored module")
    failed = source.push(check=False)
    assert failed.returncode != 0 and "[remote rejected]" in failed.stderr
    assert "example.com/greet" in failed.stderr
    assert "this server cannot reach the Go module proxy: run 'go mod vendor' and commit vendor/" in failed.stderr
    history = json.loads(server.paas("releases", source.app, "--format", "json", check=True).stdout)
    assert [(r["version"], r["status"]) for r in history] == [("v1", "failed")]
    assert containers(source.app) == []
