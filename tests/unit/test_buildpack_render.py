"""Shipped buildpacks: detection order over the example apps and the Dockerfiles they render."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from paas.build import buildpacks, dockerfile
from paas.errors import BuildFailed

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
STACK = "paas/stack:bookworm"


@pytest.fixture(autouse=True)
def only_shipped_buildpacks(monkeypatch):
    monkeypatch.delenv("PAAS_BUILDPACKS_PATH", raising=False)


def make(tmp_path: Path, files: dict[str, str | dict]) -> Path:
    """A source tree from {relative path: text or JSON object}."""
    source = tmp_path / "src"
    for rel, content in files.items():
        path = source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content) if isinstance(content, dict) else content)
    source.mkdir(exist_ok=True)
    return source


def render(source: Path, name: str | None = None) -> str:
    pack = buildpacks.by_name(name) if name else buildpacks.detect(source)
    return dockerfile.render(pack, source, STACK)


def instructions(text: str, raw: bool = False) -> list[str]:
    """Dockerfile instructions with continuation lines joined (as Docker does) and comments
    dropped; whitespace runs are collapsed unless raw."""
    joined, current = [], None
    for line in text.splitlines():
        if current is None and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current = (current or "") + (line[:-1] if line.endswith("\\") else line)
        if not line.endswith("\\"):
            joined.append(current if raw else " ".join(current.split()))
            current = None
    return joined


def printf_payload(text: str, target: str) -> list[str]:
    """The lines a `RUN printf '%s\\n' 'line' ... > target` instruction writes, as sh parses them."""
    for instruction in instructions(text, raw=True):
        if instruction.startswith("RUN printf") and f"> {target}" in instruction:
            words = shlex.split(instruction[len("RUN "):])
            assert words[:2] == ["printf", "%s\\n"]
            return words[2:words.index(">")]
    raise AssertionError(f"no printf writes {target}")


def significant_lines(path: Path, replace: tuple[str, str] = ("", "")) -> list[str]:
    """A buildpack file as the image gets it: comment and blank lines left out, the shebang kept."""
    lines = path.read_text().replace(*replace).splitlines() if replace[0] else path.read_text().splitlines()
    return [line for line in lines
            if line.startswith("#!") or (line.strip() and not line.lstrip().startswith("#"))]


def runtime_layer(text: str) -> str:
    """The first RUN: the language runtime, which must be the same text for every app."""
    return next(i for i in instructions(text) if i.startswith("RUN "))


# Detection ------------------------------------------------------------------------------


@pytest.mark.parametrize("example", ["python", "node", "go", "static", "dockerfile"])
def test_each_example_is_detected_by_its_own_buildpack(example):
    assert buildpacks.detect(EXAMPLES / example).name == example


def test_shipped_buildpacks_are_ordered_dockerfile_python_node_go_static():
    assert [p.name for p in buildpacks.all_buildpacks()] == ["dockerfile", "python", "node", "go", "static"]
    assert [p.order for p in buildpacks.all_buildpacks()] == [0, 20, 30, 40, 90]
    for pack in buildpacks.all_buildpacks():
        assert pack.template.is_file(), pack.name


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"Dockerfile": "FROM x\n", "package.json": {}, "requirements.txt": ""}, "dockerfile"),
        ({"requirements.txt": "", "package.json": {}}, "python"),
        ({"package.json": {}, "go.mod": "module x\n", "index.html": ""}, "node"),
        ({"go.mod": "module x\n", "public/index.html": ""}, "go"),
        ({"public/index.html": "<h1>hi</h1>"}, "static"),
        ({"index.html": "<h1>hi</h1>", "README.md": ""}, "static"),
    ],
)
def test_detection_follows_the_order(tmp_path, files, expected):
    assert buildpacks.detect(make(tmp_path, files)).name == expected


def test_nothing_recognisable_lists_what_was_looked_for(tmp_path):
    source = make(tmp_path, {"README.md": "hello", "docs/index.html": "", "src/main.rs": ""})
    with pytest.raises(BuildFailed) as info:
        buildpacks.detect(source)
    assert info.value.message == "no buildpack recognised this app"
    hint = info.value.hint
    for looked_for in ["dockerfile: Dockerfile", "node: package.json", "go: go.mod",
                       "static: index.html, public/index.html", "python: requirements.txt"]:
        assert looked_for in hint
    assert "paas buildpacks:set APP NAME" in hint


def test_default_processes_and_ports():
    assert buildpacks.by_name("node").processes == {"web": "npm start"}
    assert buildpacks.by_name("go").processes == {"web": "/app/bin/app"}
    assert buildpacks.by_name("static").processes == {"web": "paas-static"}
    # The image's own CMD runs for a Dockerfile app without a Procfile.
    assert buildpacks.by_name("dockerfile").processes == {}
    assert {p.port for p in buildpacks.all_buildpacks() if p.name != "dockerfile"} == {5000}


def test_dockerfile_example_exposes_its_port_and_has_a_cmd():
    text = (EXAMPLES / "dockerfile" / "Dockerfile").read_text()
    assert dockerfile.dockerfile_metadata(text) == {"port": 8000}
    assert text.startswith("# ") and f"FROM {STACK}\n" in text and "\nCMD [" in text


# Node -----------------------------------------------------------------------------------


def test_node_example_renders_npm_ci_keyed_on_the_lockfile_then_build():
    text = render(EXAMPLES / "node")
    steps = instructions(text)
    assert steps[0] == f"FROM {STACK}"
    assert steps.index("COPY --chown=app:app package.json package-lock.json /app/") \
        < steps.index('RUN npm ci && rm -rf "$HOME/.npm"') \
        < steps.index("COPY --chown=app:app . /app") \
        < steps.index("RUN npm run build")
    assert "npm install" not in text.replace("npm install -g", "")
    # Dependencies install as the app user, who runs the app.
    assert steps.index("USER app") < steps.index('RUN npm ci && rm -rf "$HOME/.npm"')
    assert steps[-1] == "ENV NODE_ENV=production PORT=5000"


def test_node_without_lockfile_uses_npm_install_and_skips_absent_build(tmp_path):
    source = make(tmp_path, {"package.json": {"name": "x", "scripts": {"start": "node ."}}})
    steps = instructions(render(source))
    assert "COPY --chown=app:app package.json /app/" in steps
    assert 'RUN npm install && rm -rf "$HOME/.npm"' in steps
    assert not any("npm ci" in s or "run build" in s for s in steps)


def test_node_shrinkwrap_counts_as_a_lockfile_and_npmrc_is_copied_with_it(tmp_path):
    source = make(tmp_path, {"package.json": {}, "npm-shrinkwrap.json": {}, ".npmrc": "fund=false\n"})
    steps = instructions(render(source))
    assert "COPY --chown=app:app package.json npm-shrinkwrap.json .npmrc /app/" in steps
    assert 'RUN npm ci && rm -rf "$HOME/.npm"' in steps


def test_node_runtime_layer_is_the_same_for_every_app(tmp_path):
    other = make(tmp_path, {"package.json": {"scripts": {"build": "tsc"}}, "yarn.lock": ""})
    assert runtime_layer(render(other)) == runtime_layer(render(EXAMPLES / "node")) == (
        "RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm "
        "&& rm -rf /var/lib/apt/lists/*"
    )


def test_node_yarn_classic(tmp_path):
    source = make(tmp_path, {"package.json": {"scripts": {"build": "webpack"}}, "yarn.lock": ""})
    steps = instructions(render(source))
    assert "RUN npm install -g yarn@1 && rm -rf /root/.npm" in steps
    assert "COPY --chown=app:app package.json yarn.lock /app/" in steps
    assert "RUN yarn install --frozen-lockfile --non-interactive && yarn cache clean" in steps
    assert "RUN yarn run build" in steps
    assert not any("npm ci" in s for s in steps)


def test_node_yarn_version_from_package_manager(tmp_path):
    source = make(tmp_path, {"package.json": {"packageManager": "yarn@1.22.19+sha512.abc"}, "yarn.lock": ""})
    assert "RUN npm install -g yarn@1.22.19 && rm -rf /root/.npm" in instructions(render(source))


def test_node_yarn_berry(tmp_path):
    source = make(tmp_path, {"package.json": {"packageManager": "yarn@4.1.0"}, "yarn.lock": "",
                             ".yarnrc.yml": "nodeLinker: pnp\n", ".yarn/releases/yarn-4.1.0.cjs": ""})
    steps = instructions(render(source))
    assert "RUN npm install -g @yarnpkg/cli-dist@4.1.0 && rm -rf /root/.npm" in steps
    assert "COPY --chown=app:app package.json yarn.lock .yarnrc.yml /app/" in steps
    assert "COPY --chown=app:app .yarn /app/.yarn/" in steps
    assert any(s.startswith("RUN yarn install --immutable") for s in steps)
    assert any("YARN_NODE_LINKER=node-modules" in s for s in steps)


def test_node_pnpm(tmp_path):
    source = make(tmp_path, {"package.json": {"scripts": {"build": "vite build"}}, "pnpm-lock.yaml": ""})
    steps = instructions(render(source))
    assert "RUN npm install -g pnpm@9 && rm -rf /root/.npm" in steps
    assert "COPY --chown=app:app package.json pnpm-lock.yaml /app/" in steps
    assert any(s.startswith("RUN pnpm install --frozen-lockfile") for s in steps)
    assert "RUN pnpm run build" in steps


@pytest.mark.parametrize("manager, expected", [
    ("pnpm@8.15.4", "pnpm@8.15.4"),
    ("pnpm@8.15.4+sha256.deadbeef", "pnpm@8.15.4"),
    ("pnpm@8; rm -rf /", "pnpm@9"),
    ("pnpm@$(id)", "pnpm@9"),
    ("yarn@1.22.19", "pnpm@9"),  # the lockfile decides the tool; the version only when it matches
    (["not", "a", "string"], "pnpm@9"),
])
def test_node_package_manager_versions_are_plain_or_ignored(tmp_path, manager, expected):
    source = make(tmp_path, {"package.json": {"packageManager": manager}, "pnpm-lock.yaml": ""})
    assert f"RUN npm install -g {expected} && rm -rf /root/.npm" in instructions(render(source))


def test_node_invalid_package_json_still_renders_and_npm_reports_it(tmp_path):
    source = make(tmp_path, {"package.json": "{not json"})
    assert 'RUN npm install && rm -rf "$HOME/.npm"' in instructions(render(source))


@pytest.mark.parametrize("version, ok", [("18", True), ("v18.19.0", True), ("18.20", True), ("20", False),
                                         ("lts/iron", False)])
def test_node_version_files_are_checked_against_the_stack(tmp_path, version, ok):
    source = make(tmp_path, {"package.json": {}, ".nvmrc": version + "\n"})
    pack = buildpacks.detect(source)
    if ok:
        dockerfile.check_runtime(pack, source)
        return
    with pytest.raises(BuildFailed) as info:
        dockerfile.check_runtime(pack, source)
    assert info.value.message == f"node {version} was requested, but this stack provides 18"


# Go -------------------------------------------------------------------------------------


def test_go_example_renders_an_offline_build_into_bin_app():
    text = render(EXAMPLES / "go")
    steps = instructions(text)
    assert steps[0] == f"FROM {STACK}"
    assert any("GOPROXY=off" in s and "CGO_ENABLED=0" in s for s in steps if s.startswith("ENV "))
    assert steps.index("COPY --chown=app:app . /app") < steps.index("RUN paas-go-build") < steps.index("USER app")
    assert not any("-mod=vendor" in s or "COPY vendor" in s for s in steps)
    assert runtime_layer(text) == ("RUN apt-get update && apt-get install -y --no-install-recommends golang-go "
                                   "&& rm -rf /var/lib/apt/lists/* && go build std")


def test_go_build_script_is_written_verbatim():
    script = significant_lines(REPO / "buildpacks" / "go" / "paas-go-build")
    assert printf_payload(render(EXAMPLES / "go"), "/usr/local/bin/paas-go-build") == script
    assert any("'go mod vendor'" in line for line in script)  # quotes survive the embedding
    assert script[0] == "#!/bin/sh"


def test_go_vendored_modules_are_compiled_in_a_layer_keyed_on_go_mod_and_vendor(tmp_path):
    source = make(tmp_path, {
        "go.mod": "module x\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n", "go.sum": "",
        "main.go": "package main\n", "vendor/modules.txt": "# example.com/greet v1.0.0\nexample.com/greet\n",
    })
    steps = instructions(render(source))
    copy_vendor = steps.index("COPY vendor /app/vendor/")
    assert steps.index("COPY go.mod go.sum /app/") < copy_vendor
    assert steps.index('ENV GOFLAGS="-buildvcs=false -mod=vendor"') < copy_vendor
    assert steps.index("RUN go build $(grep -v '^#' vendor/modules.txt)") \
        < steps.index("COPY --chown=app:app . /app") < steps.index("RUN paas-go-build")


# Static ---------------------------------------------------------------------------------


@pytest.mark.parametrize("files, root", [
    ({"public/index.html": ""}, "/app/public"),
    ({"index.html": "", "public/logo.png": ""}, "/app"),
])
def test_static_serves_the_folder_holding_index_html(tmp_path, files, root):
    text = render(make(tmp_path, files))
    conf = printf_payload(text, "/etc/nginx/paas-static.conf")
    assert conf == significant_lines(REPO / "buildpacks" / "static" / "nginx.conf", ("__ROOT__", root))
    assert f"        root {root};" in conf
    assert "        listen __PORT__ default_server;" in conf  # the port is filled in at start


def test_static_config_has_caching_headers_and_runs_unprivileged():
    conf = (REPO / "buildpacks" / "static" / "nginx.conf").read_text()
    assert 'add_header Cache-Control "no-cache";' in conf
    assert 'add_header Cache-Control "public, max-age=31536000, immutable";' in conf
    assert 'add_header Cache-Control "public, max-age=3600";' in conf
    assert "pid /tmp/nginx/nginx.pid;" in conf and "\nuser " not in conf


def test_static_entry_script_substitutes_port_and_runs_nginx_in_the_foreground():
    text = render(EXAMPLES / "static")
    script = printf_payload(text, "/usr/local/bin/paas-static")
    assert script == significant_lines(REPO / "buildpacks" / "static" / "paas-static")
    assert any("${PORT:-5000}" in line for line in script)
    assert script[-1].startswith("exec nginx ") and "daemon off;" in script[-1]
    steps = instructions(text)
    assert runtime_layer(text).startswith("RUN apt-get update && apt-get install -y --no-install-recommends nginx-light")
    # The code comes last: a code-only push builds one layer; the site still runs as app.
    assert steps[-1] == "COPY --chown=app:app . /app" and steps.index("USER app") < len(steps) - 1


# Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_buildpack_template_is_a_comment_only():
    pack = buildpacks.by_name("dockerfile")
    assert pack.detect_files == ("Dockerfile",)
    assert render(EXAMPLES / "dockerfile").strip() == ""
