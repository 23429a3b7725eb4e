"""The stack: a Debian bookworm base image made with debootstrap, no image registry needed.

The host's CA bundle is trusted inside, so builds reach the package registries even
through a TLS-inspecting proxy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from paas import console, names, paths, settings
from paas.errors import BuildFailed, NotFound, ServiceUnavailable

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SUITE = "bookworm"
STACK_ENV = {
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
    "NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/ca-certificates.crt",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}


def configured_image() -> str:
    """The image builds start FROM: PAAS_STACK_IMAGE, then `stack:set`, then our own."""
    return os.environ.get("PAAS_STACK_IMAGE") or settings.get("stack", None, "image") or names.STACK_IMAGE


def host_debian_mirror() -> str | None:
    """The Debian mirror this host's apt already uses (so debootstrap goes where apt goes)."""
    candidates = []
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            text = source.read_text()
        except OSError:
            continue
        candidates += re.findall(r"^URIs:\s*(\S+)", text, re.M)
        candidates += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", text, re.M)
    for uri in candidates:
        if "security" not in uri and uri.rstrip("/").endswith("/debian"):
            return uri
    return None


def _run(argv: list[str], what: str) -> None:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-30:]
        if line.startswith(("I: Retrieving", "I: Validating", "I: Extracting", "I: Installing", "I: Configuring")):
            continue  # hundreds of per-package lines: keep the summary readable
        console.detail(line)
    if process.wait() != 0:
        raise BuildFailed(f"{what} failed (exit {process.returncode}):\n" + "\n".join(tail[-15:]))


def build(force: bool = False) -> str:
    from paas.runtime import docker_api

    image = names.STACK_IMAGE
    if not force and docker_api.image_exists(image):
        console.step(f"Stack {image} is present (use --force to rebuild)")
        return image
    if shutil.which("debootstrap") is None:
        raise ServiceUnavailable("debootstrap is not installed", hint="run scripts/bootstrap, or apt-get install debootstrap")
    started = time.monotonic()
    workdir = paths.new_build_folder("stack")
    rootfs = workdir / "rootfs"
    try:
        console.step(f"Bootstrapping Debian {SUITE} (minbase) with debootstrap")
        argv = ["debootstrap", "--variant=minbase", "--include=ca-certificates", SUITE, str(rootfs)]
        mirror = host_debian_mirror()
        if mirror:
            argv.append(mirror)
        _run(argv, "debootstrap")
        console.step("Trusting the host's CA bundle, adding the app user")
        _customize(rootfs)
        console.step(f"Importing the root filesystem as {image}")
        tarball = workdir / "rootfs.tar"
        _run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tarball), "."], "tar")
        changes = [f"ENV {key}={value}" for key, value in STACK_ENV.items()]
        changes += ['CMD ["/bin/bash"]', f"LABEL {names.LABEL_STACK}={SUITE}"]
        docker_api.import_rootfs(tarball, image, changes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    console.step(f"Stack {image} built in {time.monotonic() - started:.0f}s")
    return image


def _customize(rootfs: Path) -> None:
    local_ca = rootfs / "usr/local/share/ca-certificates"
    local_ca.mkdir(parents=True, exist_ok=True)
    if HOST_CA_BUNDLE.exists():
        shutil.copyfile(HOST_CA_BUNDLE, local_ca / "paas-host-bundle.crt")
    (rootfs / "etc/apt/apt.conf.d/90paas").write_text(
        'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
        'Acquire::Retries "3";\n'
    )
    (rootfs / "etc/dpkg/dpkg.cfg.d/90paas-nodoc").write_text(
        "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n"
        "path-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\n"
    )
    _run(["chroot", str(rootfs), "update-ca-certificates", "--fresh"], "update-ca-certificates")
    if HOST_CA_BUNDLE.exists():
        # Belt and braces: the final bundle holds every host certificate verbatim.
        bundle = rootfs / "etc/ssl/certs/ca-certificates.crt"
        if HOST_CA_BUNDLE.read_bytes() not in bundle.read_bytes():
            with bundle.open("ab") as handle:
                handle.write(b"\n" + HOST_CA_BUNDLE.read_bytes())
    _run(["chroot", str(rootfs), "useradd", "--create-home", "--home-dir", "/home/app", "--uid", "1000",
          "--user-group", "--shell", "/bin/sh", "app"], "useradd")
    (rootfs / "app").mkdir(exist_ok=True)
    os.chown(rootfs / "app", 1000, 1000)
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / leftover).glob("*"):
            if item.is_file():
                item.unlink()


def require() -> str:
    """The stack image to build FROM; a clear error when it is missing."""
    from paas.runtime import docker_api

    image = configured_image()
    if not docker_api.image_exists(image):
        if image == names.STACK_IMAGE:
            raise NotFound(f"the stack image {image} does not exist", hint="build it with: paas stack:build")
        if not docker_api.try_pull(image):
            raise NotFound(f"the stack image {image} is not on this host and cannot be pulled",
                           hint="build ours with: paas stack:build, then paas stack:set --reset")
    return image
