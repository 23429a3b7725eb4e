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


SPACE = " \t\r\n"  # nginx's separators; other whitespace (a form feed, say) is part of a word
UNESCAPED = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "r": "\r", "n": "\n"}


def statements(text: str) -> list[tuple[str, list[str], str | None]]:
    """(directive, arguments, enclosing block) for every statement and block opener.

    Tokenised the way nginx does it (ngx_conf_read_token): `#` starts a comment and quotes
    start a string only at the beginning of a word; inside a word `{` right after `$` (as in
    `${name}`) and `}` are part of the word; `\\` escapes the next character; a quoted string
    must be followed by a separator. Any mismatch would let a template hide a directive from
    this check, so anything unusual is refused.
    """
    result: list[tuple[str, list[str], str | None]] = []
    blocks: list[str] = []
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in SPACE:
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif ch in ";{}":
            if ch == "}":
                if tokens:
                    raise InvalidInput(f"nginx.conf.j2: the statement {tokens[0]!r} has no ';'")
                if not blocks:
                    raise InvalidInput("nginx.conf.j2: '}' without a block")
                blocks.pop()
            else:
                if not tokens:
                    raise InvalidInput(f"nginx.conf.j2: empty statement before {ch!r}")
                result.append((tokens[0], tokens[1:], blocks[-1] if blocks else None))
                if ch == "{":
                    if blocks and blocks[-1] == "upstream":  # nginx has none; a "server" one would pass as a block
                        raise InvalidInput(f"nginx.conf.j2: {tokens[0]!r} cannot open a block inside upstream")
                    blocks.append(tokens[0])
                tokens = []
            i += 1
        elif ch in "\"'":
            end, word = i + 1, []
            while end < n and text[end] != ch:
                if text[end] == "\\" and end + 1 < n:
                    end += 1
                    word.append(_unescaped(text[end]))
                else:
                    word.append(text[end])
                end += 1
            if end >= n:
                raise InvalidInput("nginx.conf.j2: unterminated quote")
            if end + 1 < n and not (text[end + 1] in SPACE or text[end + 1] in ";{}"):
                raise InvalidInput("nginx.conf.j2: a quoted string must be followed by a space or ';'")
            tokens.append("".join(word))
            i = end + 1
        else:
            word, i = _word(text, i)
            tokens.append(word)
    if tokens or blocks:
        raise InvalidInput("nginx.conf.j2: the last statement has no ';' or a block is not closed")
    return result


def _unescaped(ch: str) -> str:
    """What nginx makes of `\\` + ch: the character itself, a tab or newline, or both kept."""
    return UNESCAPED.get(ch, "\\" + ch)


def _word(text: str, i: int) -> tuple[str, int]:
    """An unquoted word from text[i:], as nginx reads it, and where it ends."""
    word: list[str] = []
    variable = False  # just after a '$': a '{' there belongs to the word (`${name}`)
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            word.append(_unescaped(text[i + 1]))
            variable = False
            i += 2
            continue
        if ch == "{" and variable:
            word.append(ch)
            i += 1
            continue
        variable = ch == "$"
        if ch in SPACE or ch in ";{":
            break
        word.append(ch)
        i += 1
    return "".join(word), i


def check(text: str, app: str, listen: str, hosts: list[str] | tuple[str, ...] | None = None,
          upstreams: list[str] | tuple[str, ...] | None = None) -> None:
    """Refuse the rendered template unless every statement is allowed. `upstreams`: the app's
    own containers (ip:port), the only servers its upstream may name (None: not checked)."""
    if "\r" in text or "\x00" in text:
        # Nothing a vhost needs, and a CR ends a line for some readers but not for others.
        raise InvalidInput("nginx.conf.j2: carriage returns and NUL bytes are not allowed")
    listens_per_server: list[int] = []  # for each top-level server block, in order
    for directive, args, parent in statements(text):
        if parent is None and directive == "server":
            listens_per_server.append(0)
        if directive == "listen":
            if parent != "server" or not listens_per_server:
                raise InvalidInput("nginx.conf.j2: listen belongs directly in the server block")
            listens_per_server[-1] += 1
        if directive == "server" and parent == "upstream":
            if not args or not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}", args[0]) or any(
                    not re.fullmatch(r"(max_fails|fail_timeout|weight)=[0-9]+s?|backup|down", a) for a in args[1:]):
                raise InvalidInput("nginx.conf.j2: upstream servers must be IPv4:port of the app's own containers")
            if upstreams is not None and args[0] not in upstreams:
                # Another app's container or a service on the host's loopback.
                raise InvalidInput(f"nginx.conf.j2: upstream server {args[0]} is not one of the app's containers",
                                   hint="use: {% for u in upstreams %}server {{ u }};{% endfor %}")
            continue
        if directive in ("server", "upstream") and parent is not None:
            raise InvalidInput(f"nginx.conf.j2: {directive!r} is only allowed at the top level")
        if directive not in ALLOWED:
            raise InvalidInput(f"nginx.conf.j2: the directive {directive!r} is not allowed in an app's template",
                               hint="allowed: proxy_*, location, add_header, rewrite, return, gzip ... "
                                    "(no files, no logs, no other upstreams)")
        if parent is None and directive not in ("server", "upstream"):
            # At the top it would be an http-level setting: every other app's vhost inherits it.
            raise InvalidInput(f"nginx.conf.j2: {directive!r} must be inside the app's server block",
                               hint="only upstream and server blocks may stand at the top")
        if directive == "listen" and args != [listen]:
            # No parameters: proxy_protocol, backlog= and the like apply to every app on the port.
            raise InvalidInput(f"nginx.conf.j2: listen must be exactly {{{{ listen }}}} ({listen}), without parameters")
        if directive == "proxy_pass" and (not args or not re.fullmatch(
                rf"http://paas-{re.escape(app)}(/[^\s;{{}}]*)?", args[0])):
            raise InvalidInput(f"nginx.conf.j2: proxy_pass may only target http://paas-{app}")
        if directive == "server_name" and hosts is not None and not set(args) <= set(hosts):
            raise InvalidInput(f"nginx.conf.j2: server_name may only list the app's hosts ({' '.join(hosts)})",
                               hint="use: server_name {{ hosts | join(\" \") }};")
        if directive == "upstream" and args[:1] != [f"paas-{app}"]:
            raise InvalidInput(f"nginx.conf.j2: the only upstream allowed is paas-{app}")
    if any(count != 1 for count in listens_per_server):
        # Without one, nginx listens on its default port (80, or 8000) on every interface:
        # a socket of the app's own, beside the router's, that also stops nginx starting
        # once anything else holds that port.
        raise InvalidInput(f"nginx.conf.j2: every server block needs exactly one listen {{{{ listen }}}} ({listen})",
                           hint="use: listen {{ listen }};")
