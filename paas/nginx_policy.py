"""What an app's own `nginx.conf.j2` may contain (pure).

nginx runs with the paas account's rights, so an app template must not read host files
(`root`, `alias`, `include`), write anywhere (`*_temp_path`, logs), load code, or proxy to
anything but its own upstream (a `proxy_pass` to the Docker socket would hand over the
host). Only an allowlist of directives passes, with `listen` and `proxy_pass` pinned.
"""

from __future__ import annotations

import re

from paas.errors import InvalidInput

ALLOWED = {
    "upstream", "server", "keepalive", "keepalive_timeout", "keepalive_requests", "listen", "server_name",
    "location", "if", "set", "return", "rewrite", "break", "error_page", "internal", "add_header",
    "expires", "etag", "charset", "default_type", "client_max_body_size", "client_body_timeout",
    "client_header_timeout", "send_timeout", "gzip", "gzip_types", "gzip_min_length", "gzip_proxied",
    "gzip_vary", "gzip_comp_level", "allow", "deny", "limit_except", "proxy_pass", "proxy_http_version",
    "proxy_set_header", "proxy_hide_header", "proxy_pass_header", "proxy_read_timeout",
    "proxy_connect_timeout", "proxy_send_timeout", "proxy_buffering", "proxy_buffer_size",
    "proxy_buffers", "proxy_busy_buffers_size", "proxy_request_buffering", "proxy_redirect",
    "proxy_next_upstream", "proxy_next_upstream_tries", "proxy_next_upstream_timeout",
    "proxy_intercept_errors", "proxy_cookie_path", "proxy_cookie_domain", "proxy_ignore_headers",
    "proxy_set_body", "proxy_method", "server_tokens", "underscores_in_headers", "ignore_invalid_headers",
    "large_client_header_buffers", "max_fails", "least_conn", "ip_hash", "hash", "random",
}


def statements(text: str) -> list[tuple[str, list[str]]]:
    """(directive, arguments) for every statement and block opener, comments stripped."""
    tokens: list[str] = []
    result: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif ch in "\"'":
            end = i + 1
            while end < len(text) and text[end] != ch:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise InvalidInput("nginx.conf.j2: unterminated quote")
            tokens.append(text[i + 1 : end])
            i = end + 1
        elif ch in ";{}":
            if ch == "}" and tokens:
                raise InvalidInput(f"nginx.conf.j2: the statement {tokens[0]!r} has no ';'")
            if tokens:
                result.append((tokens[0], tokens[1:]))
            elif ch != "}":
                raise InvalidInput(f"nginx.conf.j2: empty statement before {ch!r}")
            tokens = []
            i += 1
        elif ch.isspace():
            i += 1
        else:
            match = re.compile(r"[^\s;{}\"'#]+").match(text, i)
            tokens.append(match.group(0))
            i = match.end()
    if tokens:
        raise InvalidInput("nginx.conf.j2: the last statement has no ';'")
    return result


def check(text: str, app: str, listen: str, hosts: list[str] | tuple[str, ...] | None = None) -> None:
    for directive, args in statements(text):
        if directive not in ALLOWED:
            raise InvalidInput(f"nginx.conf.j2: the directive {directive!r} is not allowed in an app's template",
                               hint="allowed: proxy_*, location, add_header, rewrite, return, gzip ... "
                                    "(no files, no logs, no other upstreams)")
        if directive == "listen" and (not args or args[0] != listen):
            raise InvalidInput(f"nginx.conf.j2: listen must be {{{{ listen }}}} ({listen})")
        if directive == "proxy_pass" and (not args or not re.fullmatch(
                rf"http://paas-{re.escape(app)}(/[^\s;{{}}]*)?", args[0])):
            raise InvalidInput(f"nginx.conf.j2: proxy_pass may only target http://paas-{app}")
        if directive == "server_name" and hosts is not None and not set(args) <= set(hosts):
            raise InvalidInput(f"nginx.conf.j2: server_name may only list the app's hosts ({' '.join(hosts)})",
                               hint="use: server_name {{ hosts | join(\" \") }};")
        if directive == "upstream" and args[:1] != [f"paas-{app}"]:
            raise InvalidInput(f"nginx.conf.j2: the only upstream allowed is paas-{app}")
