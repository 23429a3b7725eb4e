"""An app's own nginx.conf.j2: allowed shapes pass, anything reaching outside is refused."""

from __future__ import annotations

import pytest

from paas import nginx_policy
from paas.errors import InvalidInput

GOOD = """
upstream paas-web { server 172.18.0.2:5000; keepalive 8; }
server {
    listen 8080;
    server_name web.example.test;
    # a comment; with a semicolon { and a brace
    location / {
        add_header X-Frame-Options "DENY; really";
        proxy_pass http://paas-web;
        proxy_set_header Host $http_host;
    }
    location /old { return 301 /new; }
}
"""


def test_a_reasonable_template_passes():
    nginx_policy.check(GOOD, "web", "8080")


@pytest.mark.parametrize("bad,reason", [
    ("server { listen 8080; root /etc; }", "'root' is not allowed"),
    ("server { listen 8080; location / { alias /var/lib/paas/; } }", "'alias' is not allowed"),
    ("include /var/lib/paas/paas.db;", "'include' is not allowed"),
    ("server { listen 8080; access_log /tmp/x; }", "'access_log' is not allowed"),
    ("load_module x.so;", "'load_module' is not allowed"),
    ("server { listen 8080; location / { proxy_pass http://unix:/var/run/docker.sock; } }", "proxy_pass may only"),
    ("server { listen 8080; location / { proxy_pass http://169.254.169.254; } }", "proxy_pass may only"),
    ("server { listen 8080; location / { proxy_pass http://paas-other; } }", "proxy_pass may only"),
    ("upstream evil { server 10.0.0.1; }", "only upstream allowed"),
    ("server { listen 80; }", "listen must be"),
    ("server { listen 8080 }", "no ';'"),
    ('server { listen 8080; add_header X "unterminated; }', "unterminated quote"),
    ("server { listen 8080; client_body_temp_path /tmp; }", "not allowed"),
])
def test_templates_reaching_outside_are_refused(bad, reason):
    with pytest.raises(InvalidInput, match=reason.replace("(", r"\(")):
        nginx_policy.check(bad, "web", "8080")


@pytest.mark.parametrize("bad,reason", [
    # Without a listen nginx binds its default port (80 as root) on every interface.
    ("server { server_name web.example.test; location / { return 200; } }", "every server block needs exactly one"),
    ("server { listen 8080; } server { server_name web.example.test; }", "every server block needs exactly one"),
    ("server { listen 8080; listen 8080; }", "every server block needs exactly one"),
    ("server { listen 8080; location / { listen 8080; } }", "listen belongs directly in the server block"),
    ("listen 8080;", "listen belongs directly in the server block"),
    # A `server … { listen …; }` inside upstream would count as a server block of its own.
    ("server { listen 8080; } upstream paas-web { server 10.0.0.1:80 { listen 8080; } }", "cannot open a block inside"),
    ("upstream paas-web { server 10.0.0.1:80 { listen 8080; } }", "cannot open a block inside"),
])
def test_every_server_block_listens_once_directly_on_the_router_port(bad, reason):
    with pytest.raises(InvalidInput, match=reason):
        nginx_policy.check(bad, "web", "8080")


def test_two_server_blocks_each_with_its_listen_pass():
    nginx_policy.check("server { listen 8080; server_name a.test; } server { listen 8080; server_name b.test; }",
                       "web", "8080")


@pytest.mark.parametrize("bad,reason", [
    # Another app's container, or a service on the host's loopback, exposed through this vhost.
    ("upstream paas-web { server 172.18.0.9:5000; }", "not one of the app's containers"),
    ("upstream paas-web { server 172.18.0.2:5000; server 127.0.0.1:6379 backup; }", "not one of the app's containers"),
    # listen parameters apply to every vhost on the port: proxy_protocol would break them all.
    ("server { listen 8080 proxy_protocol; }", "without parameters"),
    ("server { listen 8080 backlog=1; }", "without parameters"),
    ("server { listen 8080 default_server; }", "without parameters"),
])
def test_templates_reaching_other_apps_or_the_whole_port_are_refused(bad, reason):
    with pytest.raises(InvalidInput, match=reason):
        nginx_policy.check(bad, "web", "8080", upstreams=["172.18.0.2:5000"])
    nginx_policy.check(GOOD, "web", "8080", upstreams=["172.18.0.2:5000"])


def test_statements_split_like_nginx():
    assert nginx_policy.statements('a "b;c" d; e { f; }') == [("a", ["b;c", "d"], None), ("e", [], None), ("f", [], "e")]
    # Inside a word: `${` and `}` are the word's, a '"' is a character; escapes as nginx reads them.
    assert nginx_policy.statements('a ${x}y z} q"r \\"s\\x;') == [("a", ["${x}y", "z}", 'q"r', '"s\\x'], None)]
    # Only space, tab, CR and LF separate words.
    assert nginx_policy.statements("a b\x0cc;") == [("a", ["b\x0cc"], None)]


@pytest.mark.parametrize("directive", ["deny all", "add_header Set-Cookie x", "proxy_hide_header Set-Cookie",
                                       "gzip on", "client_max_body_size 1k"])
def test_settings_outside_the_server_block_are_refused(directive):
    """At the top they would be http-level settings, inherited by every other app's vhost."""
    with pytest.raises(InvalidInput, match="must be inside the app's server block"):
        nginx_policy.check(f"{directive};\nserver {{ listen 8080; }}", "web", "8080")
    nginx_policy.check(f"server {{ listen 8080; {directive}; }}", "web", "8080")


def test_variables_in_braces_still_pass():
    nginx_policy.check('server { listen 8080; location / { add_header X-Scheme "${scheme}-x"; '
                       'return 301 ${scheme}://example.test$request_uri; } }', "web", "8080")


@pytest.mark.parametrize("hidden", [
    "upstream paas-web { server unix:/var/run/docker.sock; }",             # an upstream to the Docker API
    "server { listen 8080; add_header X b#; root /var/lib/paas;\n add_header Y c; }",  # '#' mid-word is no comment
    'server { listen 8080; add_header X a"; root /; add_header Y "b; }',    # '"' mid-word is no quote
    "server { listen 8080; location / { server 1.2.3.4:80; } }",
    # '{' right after '$' belongs to the word, so the '#' after it is no comment either.
    "server { listen 8080; location /l/ {\n gzip_types a${# ; location /f/ { alias /; } }\n}",
    "server { listen 8080; location /l/ {\n gzip_types ${#; root /;\n add_header Y z; } }",
    # A comment ended by a CR only: a file read back with universal newlines would end it there.
    "server { listen 8080; location /f/ { # x\r alias /; } }",
])
def test_tricks_that_hide_directives_from_a_naive_parser_are_refused(hidden):
    with pytest.raises(InvalidInput):
        nginx_policy.check(hidden, "web", "8080")


def test_the_build_refuses_a_template_with_a_hand_written_upstream(paas_root):
    from paas import apps
    from paas.build import builder

    apps.create("web", owner="root")
    hand_written = ("upstream paas-{{ app }} { server 127.0.0.1:5000; }\n"
                    "server { listen {{ listen }}; location / { proxy_pass http://paas-{{ app }}; } }\n")
    with pytest.raises(InvalidInput, match="not one of the app's containers"):
        builder._check_nginx_template("web", hand_written)
    builder._check_nginx_template("web", hand_written.replace("server 127.0.0.1:5000;",
                                                             "{% for u in upstreams %}server {{ u }};{% endfor %}"))


def test_app_json_cannot_carry_a_template_past_the_build_check():
    from paas.build import builder

    assert builder._without_paas_keys({"name": "x", "_nginx_template": "evil", "_port": 1}) == {"name": "x"}
