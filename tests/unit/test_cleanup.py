"""Which image tags the prune removes (paas/cleanup.py, pure part)."""

from __future__ import annotations

from types import SimpleNamespace

from paas.cleanup import images_to_remove


def release(version: int, status: str, image: str | None = "") -> SimpleNamespace:
    return SimpleNamespace(version=version, status=status,
                           image=f"paas/web:v{version}" if image == "" else image)


def tags(*versions: int) -> set[str]:
    return {f"paas/web:v{v}" for v in versions}


def test_keeps_the_newest_good_images_and_drops_the_rest():
    history = [release(5, "live"), release(4, "retired"), release(3, "failed"), release(2, "retired"),
               release(1, "retired")]
    assert images_to_remove("web", history, tags(1, 2, 3, 4, 5), keep=2) == ["paas/web:v1", "paas/web:v2",
                                                                            "paas/web:v3"]


def test_a_release_being_built_keeps_its_tag_before_its_row_names_the_image():
    # The build has tagged paas/web:v3; the row still says "building" without an image.
    history = [release(3, "building", image=None), release(2, "live"), release(1, "retired")]
    assert images_to_remove("web", history, tags(1, 2, 3), keep=1) == ["paas/web:v1"]


def test_pending_and_built_releases_keep_their_images():
    history = [release(4, "pending"), release(3, "built"), release(2, "live"), release(1, "retired")]
    assert images_to_remove("web", history, tags(1, 2, 3, 4), keep=1) == ["paas/web:v1"]


def test_releases_that_reuse_an_image_do_not_use_up_what_is_kept():
    # v5..v7 run v5's build (v6 and v7 are config changes); v4 and v3 were builds of their own.
    # keep=2: the two newest images, v5's and v4's, not v5's alone.
    history = [release(v, "live" if v == 7 else "retired", image="paas/web:v5") for v in (7, 6, 5)] + \
              [release(4, "retired"), release(3, "retired")]
    assert images_to_remove("web", history, tags(3, 4, 5), keep=2) == ["paas/web:v3"]
