"""Hostnames an app answers to: APP.GLOBAL_DOMAIN plus the ones added with domains:add."""

from __future__ import annotations

import re

from paas import apps, identity, lifecycle, names, settings, store
from paas.errors import AccessDenied, Conflict, InvalidInput, NotFound

# nginx keeps every app's server names in one hash (nginx.conf.j2 sizes it for this many
# names of up to 253 characters); one app must not fill it for all.
MAX_PER_APP = 100


def global_domain() -> str | None:
    return settings.get("domains", None, "global") or lifecycle.server_info().get("domain") or None


def custom(app: str) -> list[str]:
    app_id = apps.get(app).id
    return [r["domain"] for r in store.query("SELECT domain FROM domains WHERE app_id = ? ORDER BY domain", (app_id,))]


def hosts_for(app: str) -> list[str]:
    base = global_domain()
    hosts = [f"{app}.{base}"] if base else []
    return hosts + [d for d in custom(app) if d not in hosts]


def add(app: str, domain: str) -> str:
    domain = names.domain(domain)
    app_id = apps.get(app).id
    base = global_domain()
    if base and domain == f"{app}.{base}":
        # Stored as a custom domain it would follow the app through a rename and take the
        # URL of the next app of this name.
        raise Conflict(f"{domain} is {app}'s own hostname already", hint="add domains of your own")
    if base and _covers(domain, base):
        # Names under the global domain belong to the apps they name (and to future ones).
        raise Conflict(f"{domain} is under the global domain {base}, whose names are reserved for apps",
                       hint="use a domain of your own")
    if identity.current().role != "admin":
        if domain.startswith("*."):
            raise AccessDenied("wildcard domains are for admins only")
        if "." not in domain or re.fullmatch(r"[0-9.]+", domain) or domain.endswith((".localhost", ".localdomain")):
            # localhost, a bare name, or the server's own address: requests made without a
            # hostname of an app's would reach this one instead of the 404 page.
            raise AccessDenied(f"{domain} is not a public hostname; only admins may route it")
    with store.transaction() as db:
        row = db.execute("SELECT a.name FROM domains d JOIN apps a ON a.id = d.app_id WHERE domain = ?", (domain,)).fetchone()
        if row:
            raise Conflict(f"{domain} is already used by {row['name']}")
        if db.execute("SELECT COUNT(*) FROM domains WHERE app_id = ?", (app_id,)).fetchone()[0] >= MAX_PER_APP:
            raise InvalidInput(f"{app} has {MAX_PER_APP} domains already, the most an app may have",
                               hint="remove one with: paas domains:remove APP DOMAIN")
        db.execute("INSERT INTO domains (app_id, domain) VALUES (?, ?)", (app_id, domain))
    return domain


def _covers(domain: str, base: str) -> bool:
    """Whether `domain` names the global domain, a name under it, or (a wildcard) all of them."""
    if domain == base or domain.endswith("." + base):
        return True
    parent = domain[2:] if domain.startswith("*.") else None
    return parent is not None and base.endswith("." + parent)


def remove(app: str, domain: str) -> None:
    domain = names.domain(domain)
    app_id = apps.get(app).id
    with store.transaction() as db:
        cur = db.execute("DELETE FROM domains WHERE app_id = ? AND domain = ?", (app_id, domain))
        if not cur.rowcount:
            raise NotFound(f"{domain} is not a domain of {app}")
