"""SSH keys: validated public keys with roles, rendered into authorized_keys lines.

Each line forces paas's SSH entry with the key's name and forbids forwarding, so a key
can never get a shell or a tunnel, only what the entry allows.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from paas import lifecycle, names, paths, store
from paas.errors import Conflict, InvalidInput, NotFound

ROLES = ("admin", "user")
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
RESTRICTIONS = "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc"


def parse_public_key(text: str) -> tuple[str, str]:
    """Returns (normalised 'type base64', fingerprint) or refuses with a reason."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) != 1:
        raise InvalidInput("give exactly one OpenSSH public key (one line)")
    parts = lines[0].split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise InvalidInput(f"not an OpenSSH public key; expected a line starting with one of {', '.join(KEY_TYPES[:3])}")
    key = f"{parts[0]} {parts[1]}"
    result = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", "-"], input=key + "\n",
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise InvalidInput("not a valid OpenSSH public key (ssh-keygen could not read it)")
    fingerprint = result.stdout.split()[1]
    return key, fingerprint


def add(name: str, public_key_text: str, role: str = "user") -> dict:
    names.key_name(name)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    key, fingerprint = parse_public_key(public_key_text)
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM ssh_keys WHERE name = ?", (name,)).fetchone():
            raise Conflict(f"a key named {name!r} already exists")
        row = db.execute("SELECT name FROM ssh_keys WHERE fingerprint = ?", (fingerprint,)).fetchone()
        if row:
            raise Conflict(f"this key is already added as {row['name']!r}")
        db.execute("INSERT INTO ssh_keys (name, public_key, fingerprint, role, created_at) VALUES (?, ?, ?, ?, ?)",
                   (name, key, fingerprint, role, time.time()))
    write_authorized_keys()
    return {"name": name, "type": key.split()[0], "fingerprint": fingerprint, "role": role}


def remove(name: str) -> None:
    with store.transaction() as db:
        if not db.execute("DELETE FROM ssh_keys WHERE name = ?", (name,)).rowcount:
            raise NotFound(f"no key named {name!r}")
    write_authorized_keys()


def list_all() -> list[dict]:
    rows = store.query("SELECT * FROM ssh_keys ORDER BY name")
    return [{"name": r["name"], "type": r["public_key"].split()[0], "fingerprint": r["fingerprint"],
             "role": r["role"]} for r in rows]


def role_of(name: str) -> str | None:
    row = store.query_one("SELECT role FROM ssh_keys WHERE name = ?", (name,))
    return row["role"] if row else None


def entry_script() -> Path:
    """ROOT/bin/paas-ssh-entry: pins PAAS_ROOT and the interpreter for sshd's forced command."""
    path = paths.sub("bin") / "paas-ssh-entry"
    text = (
        "#!/bin/sh\n# Written by paas: the forced command of every authorized key.\n"
        f"PAAS_ROOT={shlex.quote(str(paths.root()))}\nexport PAAS_ROOT\n"
        f"exec {shlex.quote(sys.executable)} -m paas.ssh_entry \"$1\"\n"
    )
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return path


def authorized_keys_path() -> Path:
    configured = lifecycle.server_info().get("authorized_keys")
    return Path(configured) if configured else paths.ssh() / "authorized_keys"


def write_authorized_keys() -> Path:
    entry = entry_script()
    lines = ["# Managed by paas (paas ssh-keys:add/remove); edits are overwritten."]
    for row in store.query("SELECT name, public_key FROM ssh_keys ORDER BY name"):
        command = f"{entry} {row['name']}"
        lines.append(f'command="{command}",{RESTRICTIONS} {row["public_key"]} paas:{row["name"]}')
    target = authorized_keys_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    os.replace(tmp, target)
    return target
