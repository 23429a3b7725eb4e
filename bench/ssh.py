"""Group `ssh`: SSH round trips vs bare `ssh host true` through an identically configured sshd.

- `ssh USER@127.0.0.1 apps:list`: real OpenSSH with the server's client key and known_hosts,
  through the private sshd of `paas server:up` (forced command: paas's SSH entry).
- the laptop client: `python -m paas apps:list` inside a git repo whose `paas` remote points at
  that server (paramiko; PAAS_SSH_KEY / PAAS_KNOWN_HOSTS; no PAAS_LOCAL, no PAAS_ROOT).
- baseline: `ssh USER@127.0.0.1 true` through a second sshd started from a copy of the server's
  sshd_config (same host key, same options) on its own port, pid file and authorized_keys with
  the same client key on a plain line (no forced command). `PermitRootLogin` is relaxed from
  forced-commands-only to prohibit-password in the copy when the bench runs as root, or
  root could not run `true` at all.

Both sides run through the account's login shell (sshd does that for any command), so shell
start-up costs land on both sides of the ratio.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import tempfile
from pathlib import Path

from bench.common import PAAS, Row, Server, free_port, log, private_server, run, timed, wait_for

GROUP = "ssh"


@contextlib.contextmanager
def plain_sshd(srv: Server, workdir: Path):
    """A second sshd: the server's config with its own port/pid/authorized_keys, no forced command."""
    config = (srv.root / "ssh" / "sshd_config").read_text()
    port = free_port()
    pidfile = workdir / "sshd-plain.pid"
    keys = workdir / "authorized_keys-plain"
    keys.write_text((srv.client_key.with_suffix(".pub")).read_text().strip() + "\n")
    keys.chmod(0o600)
    replacements = {
        "Port": str(port), "PidFile": str(pidfile), "AuthorizedKeysFile": str(keys),
        "PermitRootLogin": "prohibit-password",
    }
    lines = []
    for line in config.splitlines():
        word = line.split(" ", 1)[0]
        lines.append(f"{word} {replacements[word]}" if word in replacements else line)
    path = workdir / "sshd_config-plain"
    path.write_text("\n".join(lines) + "\n")
    result = run([shutil.which("sshd") or "/usr/sbin/sshd", "-f", str(path), "-E", str(workdir / "sshd-plain.log")],
                 timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"the plain sshd did not start: {result.stderr}")
    pid = wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), timeout=10)
    host_pub = (srv.root / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
    known = workdir / "known_hosts-plain"
    known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    try:
        yield port, known
    finally:
        with contextlib.suppress(OSError, ValueError, TypeError):
            os.kill(int(pid), signal.SIGTERM)


def measure(quick: bool) -> list[Row]:
    n = 10 if quick else 25
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-ssh-"))
    try:
        with private_server("ssh") as srv:
            srv.paas("apps:create", "bench-ssh", check=True)
            repo = workdir / "laptop"
            repo.mkdir()
            run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
            run(["git", "remote", "add", "paas", srv.remote("bench-ssh")], cwd=repo, check=True)
            laptop_env = {k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}
            laptop_env.update(PAAS_SSH_KEY=str(srv.client_key), PAAS_KNOWN_HOSTS=str(srv.known_hosts),
                              NO_COLOR="1", COLUMNS="80")
            with plain_sshd(srv, workdir) as (plain_port, plain_known):
                commands = {
                    "ssh apps:list": (srv.ssh_argv() + ["apps:list"], None, None),
                    "laptop apps:list": ([*PAAS, "apps:list"], laptop_env, repo),
                    "ssh true": (srv.ssh_argv(known_hosts=plain_known, port=plain_port) + ["true"], None, None),
                }
                for name, (argv, env, cwd) in commands.items():  # warm-up, and a check that each works
                    result = run(argv, env=env, cwd=cwd, timeout=60)
                    if result.returncode != 0:
                        raise RuntimeError(f"{name} failed: {result.stdout}\n{result.stderr}")
                    if name != "ssh true" and "bench-ssh" not in result.stdout:
                        raise RuntimeError(f"{name} did not list the app: {result.stdout}\n{result.stderr}")
                samples: dict[str, list[float]] = {name: [] for name in commands}
                log(f"ssh: {n} runs of each, interleaved")
                for _ in range(n):
                    for name, (argv, env, cwd) in commands.items():
                        samples[name].append(1000 * timed(
                            lambda argv=argv, env=env, cwd=cwd: run(argv, env=env, cwd=cwd, check=True, timeout=60)))
                # Where the forced command's time goes: the same apps:list, server side, no ssh.
                local = [1000 * timed(lambda: srv.paas("apps:list", check=True)) for _ in range(n)]
            shell = pwd.getpwnam(srv.user).pw_shell
            base = samples["ssh true"]
            note = f"login shell {shell}"
            return [
                Row(GROUP, "ssh USER@host apps:list (forced command)", samples["ssh apps:list"], "ms",
                    baseline="ssh USER@host true, plain sshd", baseline_samples=base, target="<= 1.5x", note=note),
                Row(GROUP, "laptop client: paas apps:list (paramiko)", samples["laptop apps:list"], "ms",
                    baseline="ssh USER@host true, plain sshd", baseline_samples=base, target="<= 1.5x", note=note),
                Row(GROUP, "apps:list server side, no ssh (PAAS_LOCAL=1)", local, "ms",
                    baseline="ssh USER@host true, plain sshd", baseline_samples=base,
                    note="what the forced command runs"),
            ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
