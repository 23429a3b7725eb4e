"""Bare repos per app: creation, the pre-receive hook, and exporting a tree to build."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from paas import paths
from paas.errors import BuildFailed, InvalidInput, NotFound

MAX_TREE_BYTES = 512 * 1024 * 1024
MAX_FILE_BYTES = 256 * 1024 * 1024
# A file in each bare repo naming the app record it belongs to (id and creation time: ids of
# deleted apps come back). A rename moves the folder before its records commit; a kill
# between the two leaves the folder under the new name, where `ensure` finds it by this.
OWNER_FILE = "paas-app"


def _git():
    import git

    return git


def _archive(app: str, sha: str, target: Path) -> None:
    """`git archive` of `sha` into `target`, streamed (a tree may be hundreds of MiB). This
    process writes the file, so a full disk is an OSError (ENOSPC) the builder reports."""
    command = ["git", "--git-dir", str(paths.repo(app)), "archive", "--format=tar", "--end-of-options", sha]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            with target.open("wb") as out:
                shutil.copyfileobj(proc.stdout, out, 1024 * 1024)
        except BaseException:
            proc.kill()
            raise
        errors = proc.stderr.read()
    if proc.returncode != 0:
        raise GitFailed(errors.decode("utf-8", "replace").strip() or "git archive failed")


def _git_output(app: str, *args: str) -> bytes:
    """Output of `git ARGS` in the app's repo, or GitFailed with git's message.

    The push path (resolve, size check, export) calls git itself: importing gitpython costs
    70 ms, a twentieth of a redeploy, for three commands it would run as subprocesses anyway.
    Inherited GIT_* variables keep a pre-receive hook's quarantined objects visible."""
    result = subprocess.run(["git", "--git-dir", str(paths.repo(app)), *args], capture_output=True)
    if result.returncode != 0:
        raise GitFailed(result.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return result.stdout


class GitFailed(BuildFailed):
    """git refused (a corrupt or missing object, say): reported as a failed build."""


def exists(app: str) -> bool:
    return (paths.repo(app) / "HEAD").exists()


def ensure(app: str) -> Path:
    """Create the bare repo if needed and (re)install the hook.

    Two first pushes to a new app arrive together: both would run `git init` on one folder,
    and the second fails on git's config lock. The repo's own lock makes the later one wait
    and then find the repo made. It is made aside and renamed into place, so no push ever
    sees a repo with a HEAD but not yet its settings."""
    path = paths.repo(app)
    mark = _owner_text(app)  # read once: every push comes through here
    if exists(app):
        _give_back_if_not_ours(path, mark)
    if not exists(app):
        from paas import locks

        with locks.hold(f"{app}.repo", f"creating {app}'s repo"):
            moved_away = None if path.exists() else _moved_by_a_killed_rename(mark)
            if moved_away is not None:
                moved_away.rename(path)
            elif path.exists() and not exists(app):  # a creation killed before this was atomic
                _init(path, deploy_refs(app)[0])
            elif not path.exists():
                made = Path(tempfile.mkdtemp(prefix=f".{app}.git-", dir=path.parent))
                try:
                    _init(made, deploy_refs(app)[0])
                    made.rename(path)
                except BaseException:
                    shutil.rmtree(made, ignore_errors=True)
                    raise
    install_hook(path)
    _mark_owner(path, mark)
    return path


def _owner_text(app: str) -> str:
    """What OWNER_FILE holds for `app`'s record."""
    from paas import apps

    record = apps.get(app)
    return _mark_text(record.id, record.created_at)


def _mark_text(app_id: int, created_at: float) -> str:
    return f"{app_id} {created_at!r}\n"


def _mark_owner(path: Path, text: str) -> None:
    marker = path / OWNER_FILE
    try:
        if marker.read_text() == text:
            return
    except OSError:
        pass
    _replace_file(marker, text)


def _replace_file(target: Path, text: str, mode: int | None = None) -> None:
    """Write `text` aside and rename it over `target`. A name of its own per writer: pushes
    that arrive together may each write the same file, and a shared temporary name would be
    replaced away under one of them."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _give_back_if_not_ours(path: Path, ours: str) -> None:
    """A new app under the name a killed rename moved a repo to must not take that repo: it
    goes back to the app it belongs to, and this app (whose mark is `ours`) gets a new one."""
    try:
        mark = (path / OWNER_FILE).read_text()
    except OSError:
        return  # unmarked: made before marks existed, or by this app's first push
    if mark == ours:
        return
    from paas import store

    owner = store.query_one("SELECT id, name, created_at FROM apps WHERE id = ?", (int(mark.split()[0]),))
    if owner is None or _mark_text(owner["id"], owner["created_at"]) != mark or paths.repo(owner["name"]).exists():
        return  # its owner is gone (or has a repo): this app keeps what it found
    from paas import locks

    with locks.hold(f"{owner['name']}.repo", f"giving {owner['name']} its repo back"):
        if not paths.repo(owner["name"]).exists():
            path.rename(paths.repo(owner["name"]))


def _moved_by_a_killed_rename(text: str) -> Path | None:
    """The repo marked `text` under a name no app has: a rename moved it, then was killed (or
    its commit failed) before its records said so."""
    from paas import apps

    for candidate in sorted(paths.repos().glob("*.git")):
        if apps.find(candidate.name[:-4]) is not None:
            continue
        try:
            if (candidate / OWNER_FILE).read_text() == text:
                return candidate
        except OSError:
            continue
    return None


def _init(path: Path, head: str) -> None:
    repo = _git().Repo.init(path, bare=True, mkdir=True, initial_branch=head.removeprefix("refs/heads/"))
    with repo.config_writer() as cfg:
        cfg.set_value("receive", "denyNonFastForwards", "false")
        cfg.set_value("core", "logAllRefUpdates", "true")


def move(old_app: str, new_app: str) -> None:
    """apps:rename: the repo follows the app (its hook is written again for the new folder)."""
    source, target = paths.repo(old_app), paths.repo(new_app)
    if source.exists():
        _mark_owner(source, _owner_text(new_app))  # the caller renamed the record already, in this transaction
        source.rename(target)
        try:
            install_hook(target)
        except BaseException:
            target.rename(source)  # all or nothing: the caller undoes its records
            raise


def install_hook(path: Path) -> None:
    shim = (paths.hooks_dir() / "pre-receive").read_text()
    text = shim.replace("__PAAS_ROOT__", shlex.quote(str(paths.root()))).replace(
        "__PAAS_PYTHON__", shlex.quote(sys.executable)
    )
    hook = path / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    _replace_file(hook, text, 0o755)  # every push writes it again


def resolve(app: str, rev: str) -> str:
    if not exists(app):
        raise NotFound(f"{app} has no repo yet", hint="push to it first: git push paas main")
    try:
        if rev.startswith("-"):
            raise GitFailed("not a revision")
        out = _git_output(app, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except GitFailed:
        raise NotFound(f"{app}: no commit {rev!r} in its repo") from None
    return out.decode().strip()


def deploy_refs(app: str) -> list[str]:
    """Refs whose pushes deploy: the deploy branch, and master while it is left at main."""
    from paas import settings

    branch = settings.get("git", app, "deploy-branch")
    explicit = branch != "main" or any(k == "deploy-branch" and s == "app" for k, _, s in settings.report("git", app))
    return [f"refs/heads/{branch}"] + ([] if explicit else ["refs/heads/master"])


def rebuild_ref(app: str) -> str:
    """The ref a rebuild builds: of the deploy refs (master too while the deploy branch is
    left at main), the one HEAD names (the last that deployed), else the first the repo has,
    else the deploy branch."""
    refs = deploy_refs(app)
    head = _head_ref(app)
    if head in refs and ref_head(app, head) is not None:
        return head
    return next((ref for ref in refs if ref_head(app, ref) is not None), refs[0])


def _head_ref(app: str) -> str | None:
    try:
        text = (paths.repo(app) / "HEAD").read_text()
    except OSError:
        return None
    return text[len("ref: "):].strip() if text.startswith("ref: ") else None


def ref_head(app: str, ref: str) -> str | None:
    if not exists(app):
        return None
    try:
        return _git().Repo(paths.repo(app)).commit(ref).hexsha
    except Exception:
        return None


def point_head(app: str, ref: str) -> None:
    """The repo's HEAD names `ref` (a branch that just deployed), so a clone checks it out and
    a rebuild builds it."""
    if _head_ref(app) != ref:
        _replace_file(paths.repo(app) / "HEAD", f"ref: {ref}\n")


def export(app: str, sha: str) -> Path:
    """Extract the tree at `sha` into a fresh build folder (no .git, no links leaving it)."""
    check_tree_size(app, sha)
    dest = paths.new_build_folder(app)
    archive = dest.with_suffix(".tar")
    try:
        _archive(app, sha, archive)
        with tarfile.open(archive) as tar:
            members = safe_members(tar.getmembers(), dest)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 adds its own checks
                try:
                    tar.extractall(dest, members=members, filter="data")
                except tarfile.FilterError as exc:
                    raise InvalidInput(f"refused to build: {exc}") from None
            else:
                tar.extractall(dest, members=members)
        refuse_links_leaving(dest)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        archive.unlink(missing_ok=True)
    return dest


def check_tree_size(app: str, sha: str) -> None:
    """Refuse huge trees before writing a byte of them (sizes come from git's index)."""
    listing = _git_output(app, "ls-tree", "-r", "-l", "-z", "--end-of-options", sha).decode("utf-8", "surrogateescape")
    total = 0
    for entry in filter(None, listing.split("\0")):
        meta, _, name = entry.partition("\t")
        size = meta.split()[-1]
        if size.isdigit():
            total += int(size)
            if int(size) > MAX_FILE_BYTES:
                raise InvalidInput(
                    f"{name} is {int(size) // 2**20} MiB; files over {MAX_FILE_BYTES // 2**20} MiB are refused",
                    hint="keep build artefacts and data out of the repo (or use git LFS elsewhere)",
                )
    if total > MAX_TREE_BYTES:
        raise InvalidInput(f"the source tree is {total // 2**20} MiB; at most {MAX_TREE_BYTES // 2**20} MiB")


def safe_members(members: list[tarfile.TarInfo], dest: Path) -> list[tarfile.TarInfo]:
    """Refuse anything that could land outside `dest`: absolute or `..` paths, links leaving
    the tree, device files. (Python 3.11.2, Debian's, has no tarfile filters.)"""
    root = dest.resolve()

    def inside(path: Path) -> bool:
        resolved = Path(os.path.normpath(path))
        return resolved == root or root in resolved.parents

    for member in members:
        target = root / member.name
        if member.name.startswith("/") or not inside(target):
            raise InvalidInput(f"refused to build: {member.name!r} points outside the repo")
        if member.issym():
            link = Path(member.linkname)
            if link.is_absolute() or not inside(target.parent / link):
                raise InvalidInput(
                    f"refused to build: the symlink {member.name!r} points outside the repo ({member.linkname})"
                )
        elif member.islnk():
            if not inside(root / member.linkname):
                raise InvalidInput(f"refused to build: the link {member.name!r} points outside the repo")
        elif not (member.isfile() or member.isdir()):
            raise InvalidInput(f"refused to build: {member.name!r} is a device or special file")
    return members


def refuse_links_leaving(dest: Path) -> None:
    """Every symlink of the extracted tree, resolved on disk (chains of links included), must
    stay inside it. `safe_members` checks each link's own text; a link through other links
    (`t -> a/b/s/../..` where `s` itself climbs) can only be judged once they all exist."""
    root = Path(os.path.realpath(dest))
    for folder, dirs, files in os.walk(dest):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                target = Path(os.path.realpath(path))
                if target != root and root not in target.parents:
                    raise InvalidInput(f"refused to build: the symlink {str(path.relative_to(dest))!r} "
                                       f"leads outside the repo")


def remove(app: str) -> None:
    shutil.rmtree(paths.repo(app), ignore_errors=True)
