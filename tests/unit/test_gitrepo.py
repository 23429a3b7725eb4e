"""Bare repos with real git: resolve, size checks and export (the push path's git calls)."""

from __future__ import annotations

import subprocess

import pytest

from paas import apps, gitrepo, paths
from paas.errors import InvalidInput, NotFound


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def pushed(paas_root, tmp_path):
    """App `web` whose bare repo holds one commit on main: (sha, work tree)."""
    apps.create("web")
    gitrepo.ensure("web")
    (paths.repo("web") / "hooks" / "pre-receive").unlink()  # store the push, deploy nothing
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "app.py").write_text("print('hi')\n")
    (work / "sub").mkdir()
    (work / "sub" / "data.txt").write_text("x" * 100)
    git(work, "add", ".")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    git(work, "push", "-q", str(paths.repo("web")), "main")
    return git(work, "rev-parse", "HEAD"), work


def test_resolve_finds_branches_and_shas_and_refuses_the_rest(pushed):
    sha, _ = pushed
    assert gitrepo.resolve("web", "refs/heads/main") == sha
    assert gitrepo.resolve("web", sha[:10]) == sha
    for bad in ("refs/heads/nope", "--output=/tmp/x", "-h", "HEAD~5"):
        with pytest.raises(NotFound):
            gitrepo.resolve("web", bad)


def test_export_writes_the_tree_without_git_metadata(pushed):
    sha, _ = pushed
    dest = gitrepo.export("web", sha)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["app.py", "sub", "sub/data.txt"]
    assert (dest / "app.py").read_text() == "print('hi')\n"


def test_files_over_the_limit_are_refused_before_export(pushed, monkeypatch):
    sha, _ = pushed
    monkeypatch.setattr(gitrepo, "MAX_FILE_BYTES", 50)
    with pytest.raises(InvalidInput, match="sub/data.txt is 0 MiB; files over 0 MiB are refused"):
        gitrepo.check_tree_size("web", sha)
    monkeypatch.setattr(gitrepo, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(gitrepo, "MAX_TREE_BYTES", 100)
    with pytest.raises(InvalidInput, match="the source tree is"):
        gitrepo.check_tree_size("web", sha)


def test_first_pushes_arriving_together_all_find_one_repo(paas_root, tmp_path):
    """Each first push runs `ensure` in its own process; none may fail on git's config lock
    or on another writer's hook file."""
    import sys
    import time

    apps.create("web")
    go = tmp_path / "go"
    # Each imports paas before the start signal, so all reach `git init` at nearly one time.
    script = (
        "import os, time\n"
        "from paas import gitrepo\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "gitrepo.ensure('web')\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True) for _ in range(8)]
    time.sleep(1.0)
    go.touch()
    errors = [w.communicate(timeout=60)[1] for w in workers]
    assert [w.returncode for w in workers] == [0] * 8, "\n".join(errors)
    assert gitrepo.exists("web")
    assert git(paths.repo("web"), "config", "receive.denyNonFastForwards") == "false"
    hooks = sorted(p.name for p in (paths.repo("web") / "hooks").iterdir() if not p.name.endswith(".sample"))
    assert hooks == ["pre-receive"], "no temporary hook file may be left behind"


def test_a_repo_whose_creation_was_killed_is_finished_and_no_temporary_folder_stays(paas_root):
    apps.create("web")
    paths.repo("web").mkdir(parents=True)  # an older paas killed inside `git init`
    (paths.repo("web") / "objects").mkdir()
    gitrepo.ensure("web")
    assert gitrepo.exists("web")
    assert git(paths.repo("web"), "config", "core.logAllRefUpdates") == "true"
    apps.create("api")
    gitrepo.ensure("api")
    assert sorted(p.name for p in paths.repos().iterdir()) == ["api.git", "web.git"]


def _chain_leaving_the_tree(work):
    """The reviewer's chain: each link's own text stays inside, the chain leaves the tree."""
    import os

    deep = work / "a" / "b" / "c" / "d" / "e" / "f" / "g" / "h" / "i" / "j"
    deep.mkdir(parents=True)
    os.symlink("../" * 10, deep / "s")  # the tree's root, really
    os.symlink("a/b/c/d/e/f/g/h/i/j/s/" + "../" * 11, work / "t")  # lexically a/b/..., on disk far above
    os.symlink("t/etc/hostname", work / ".python-version")


def test_symlink_chains_leaving_the_tree_are_refused_on_disk(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    _chain_leaving_the_tree(tree)
    with pytest.raises(InvalidInput, match="leads outside the repo"):
        gitrepo.refuse_links_leaving(tree)
    inside = tmp_path / "inside"
    (inside / "sub").mkdir(parents=True)
    (inside / "sub" / "f").write_text("x")
    import os

    os.symlink("sub/f", inside / "ok")
    os.symlink("../sub", inside / "sub" / "loop")
    gitrepo.refuse_links_leaving(inside)


def test_an_exported_symlink_chain_leaving_the_tree_fails_the_build_clearly(pushed):
    _, work = pushed
    _chain_leaving_the_tree(work)
    git(work, "add", ".")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "chain")
    git(work, "push", "-q", str(paths.repo("web")), "main")
    sha = git(work, "rev-parse", "HEAD")
    # Python's own tarfile filter (3.11.4 on) or paas's check on disk (Debian's 3.11.2) says so.
    with pytest.raises(InvalidInput, match="refused to build: .*outside the (repo|destination)"):
        gitrepo.export("web", sha)
    assert list(paths.builds().iterdir()) == [], "nothing of the tree is left behind"


def test_what_a_killed_build_left_goes_and_a_running_builds_stays(paas_root):
    import os
    import subprocess as sp

    gone = sp.Popen(["true"])
    gone.wait()
    left = paths.builds() / f"pid{gone.pid}-web-abc"  # a tree a killed build left
    (left / "src").mkdir(parents=True)
    (paths.builds() / f"pid{gone.pid}-web-abc.tar").write_bytes(b"x")
    running = paths.builds() / f"pid{os.getppid()}-api-def"  # a build still running elsewhere
    running.mkdir()
    mine = paths.new_build_folder("web")  # a new build removes what dead ones left
    assert mine.name.startswith(f"pid{os.getpid()}-web-")
    assert sorted(p.name for p in paths.builds().iterdir()) == sorted([running.name, mine.name])


def test_a_rename_whose_repo_cannot_move_changes_nothing(cli, monkeypatch):
    apps.create("web")
    gitrepo.ensure("web")

    def disk_full(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gitrepo, "install_hook", disk_full)
    with pytest.raises(OSError):
        cli("apps:rename", "web", "site")
    assert apps.find("web") is not None and apps.find("site") is None
    assert gitrepo.exists("web") and not paths.repo("site").exists()


class Killed(BaseException):
    pass


def _rename_killed_after_its_repo_moved(monkeypatch, old: str, new: str) -> None:
    """apps:rename OLD NEW, killed right after the repo moved: its transaction rolls back."""
    from paas import lifecycle

    move = gitrepo.move

    def killed_there(old_app, new_app):
        move(old_app, new_app)
        raise Killed

    monkeypatch.setattr(gitrepo, "move", killed_there)
    with pytest.raises(Killed):
        lifecycle.rename_app(old, new)
    monkeypatch.setattr(gitrepo, "move", move)


def test_a_rename_killed_between_its_repo_move_and_its_commit_loses_no_repo(pushed, monkeypatch):
    # The move runs inside the rename's transaction: a kill (or a failing commit) after it
    # leaves the records under the old name and the repo under the new one.
    sha, _ = pushed
    _rename_killed_after_its_repo_moved(monkeypatch, "web", "site")
    assert apps.find("web") is not None and apps.find("site") is None
    assert not paths.repo("web").exists() and paths.repo("site").exists()
    # A folder no app owns, with another app's mark, is left where it is.
    apps.create("api")
    gitrepo.ensure("api")
    assert paths.repo("site").exists()
    # The app's next push finds its repo, history and all.
    gitrepo.ensure("web")
    assert not paths.repo("site").exists()
    assert git(paths.repo("web"), "rev-parse", "main") == sha
    assert not apps.find("site") and apps.require_free("site") is None


def test_a_new_app_under_the_name_a_killed_rename_used_gives_the_repo_back(pushed, monkeypatch):
    sha, _ = pushed
    _rename_killed_after_its_repo_moved(monkeypatch, "web", "site")
    apps.create("site")  # a first push to "site", autocreate on
    gitrepo.ensure("site")
    assert git(paths.repo("web"), "rev-parse", "main") == sha
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "main"], cwd=paths.repo("site"),
                          capture_output=True).returncode != 0, "site starts with an empty repo"


def test_a_repo_an_app_has_is_never_taken_by_another(pushed):
    gitrepo.ensure("web")
    apps.create("api")
    record = apps.get("web")
    # Even with the same mark (it cannot happen: ids and creation times differ), a folder
    # under a living app's name stays that app's.
    (paths.repo("web") / gitrepo.OWNER_FILE).write_text(f"{apps.get('api').id} {apps.get('api').created_at!r}\n")
    gitrepo.ensure("api")
    assert paths.repo("web").exists() and paths.repo("api").exists()
    assert record == apps.get("web")


def test_a_new_repos_head_names_the_deploy_branch(pushed):
    assert (paths.repo("web") / "HEAD").read_text() == "ref: refs/heads/main\n"


def test_rebuilds_build_the_deploy_ref_head_names_and_a_push_cannot_delete_it(pushed):
    from paas import hook

    sha, work = pushed
    git(work, "push", "-q", str(paths.repo("web")), "main:master")
    assert gitrepo.rebuild_ref("web") == "refs/heads/main"
    gitrepo.point_head("web", "refs/heads/master")  # master deployed last
    assert gitrepo.rebuild_ref("web") == "refs/heads/master"
    assert not list(paths.repo("web").glob(".HEAD-*"))
    deleting = [(sha, hook.ZERO, "refs/heads/master")]
    assert hook.deleted_deploy_ref("web", deleting) == "refs/heads/master"
    assert hook.deleted_deploy_ref("web", [(sha, hook.ZERO, "refs/heads/main")]) is None  # not what rebuilds use
    assert hook.deleted_deploy_ref("web", [(hook.ZERO, sha, "refs/heads/master")]) is None
