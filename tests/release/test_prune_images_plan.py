"""Image retention's plan (release/prune_images.py): which stamp-tagged images are kept, which deleted and in
what order; the served images and any other tag always stay."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from release import prune_images
from release.prune_images import KEEP_IMAGES, Deletion, plan_pruning
from tests.release.prune_fakes import digest, runs


def deleted_tags(tags: dict[str, str], keep: int) -> list[str]:
    return [tag for deletion in plan_pruning(tags, keep).delete for tag in deletion.tags]


def test_keep_is_defined_once_as_a_week_of_six_hourly_runs() -> None:
    assert KEEP_IMAGES == 28
    source = Path(prune_images.__file__).read_text()
    assert source.count("KEEP_IMAGES = ") == 1 and "default=KEEP_IMAGES" in source


def test_the_newest_n_stamp_tags_are_kept_and_the_older_ones_deleted_oldest_first() -> None:
    tags = runs(31)
    stamps = sorted(tags)
    tags |= {"latest": tags[stamps[-1]], "1.2.3": tags[stamps[-1]]}
    plan = plan_pruning(tags, 28)
    assert [d.tags for d in plan.delete] == [(tag,) for tag in stamps[:3]]  # the three oldest stamps
    assert [d.digest for d in plan.delete] == [tags[tag] for tag in stamps[:3]]
    assert list(plan.kept) == stamps[::-1][:28]
    assert plan.served == ("1.2.3", "latest") and plan.other == ()


def test_fewer_images_than_kept_deletes_nothing() -> None:
    tags = runs(5)
    tags["latest"] = tags[max(tags)]
    assert plan_pruning(tags, 28).delete == ()
    assert plan_pruning(tags, 5).delete == ()
    assert deleted_tags(tags, 4) == [min(tags)]
    assert plan_pruning({}, 28).delete == ()


def test_order_is_by_stamp_not_by_the_versions_text() -> None:
    # 0.10.0 sorts before 0.9.0 as text; 0.9.0's builds are the older ones. A lower version pushed later (a revert)
    # is still the newer image.
    tags = {
        "0.9.0-20250101001742": digest("a"),
        "0.9.0-20250101061742": digest("b"),
        "0.10.0-20250101121742": digest("c"),
        "0.10.0-20250101181742": digest("d"),
        "0.2.0-20250102001742": digest("e"),
        "latest": digest("e"),
    }
    assert deleted_tags(tags, 3) == ["0.9.0-20250101001742", "0.9.0-20250101061742"]
    assert plan_pruning(tags, 3).kept == ("0.2.0-20250102001742", "0.10.0-20250101181742", "0.10.0-20250101121742")


def test_equal_stamps_are_ordered_by_version_then_tag_whatever_the_input_order() -> None:
    tags = {
        "1.10.0-20250101001742": digest("x"),
        "1.9.0-20250101001742": digest("y"),
        "1.2.0-20250101001742": digest("z"),
        "1.0.0-20241231001742": digest("old"),
        "latest": digest("new"),
        "2.0.0-20250102001742": digest("new"),
    }
    plans = {plan_pruning(dict(order), 2) for order in itertools.permutations(tags.items())}
    assert len(plans) == 1  # deterministic
    [plan] = plans
    assert plan.kept == ("2.0.0-20250102001742", "1.10.0-20250101001742")  # 1.10.0 > 1.9.0 numerically
    assert [d.tags for d in plan.delete] == [("1.0.0-20241231001742",), ("1.2.0-20250101001742",),
                                             ("1.9.0-20250101001742",)]  # fmt: skip


def test_the_served_image_is_kept_even_when_older_than_the_newest_n() -> None:
    tags = runs(10)
    served = sorted(tags)[2]  # the service still runs the third-oldest build (newer ones failed verify)
    tags |= {"latest": tags[served], "1.2.3": tags[served]}
    plan = plan_pruning(tags, 3)
    assert served not in deleted_tags(tags, 3)
    assert tags[served] not in {d.digest for d in plan.delete}
    assert deleted_tags(tags, 3) == [t for t in sorted(tags) if "-" in t and t != served][:6]
    assert len(plan.kept) == 3


def test_the_served_build_of_each_code_version_is_kept() -> None:
    tags = runs(4, "1.0.0") | runs(4, "1.1.0", day=5)
    tags |= {"1.0.0": tags["1.0.0-20250101121742"], "1.1.0": tags["1.1.0-20250105181742"]}
    tags["latest"] = tags["1.1.0-20250105181742"]
    deleted = deleted_tags(tags, 2)
    assert "1.0.0-20250101121742" not in deleted
    assert deleted == ["1.0.0-20250101001742", "1.0.0-20250101061742", "1.0.0-20250101181742",
                       "1.1.0-20250105001742", "1.1.0-20250105061742"]  # fmt: skip


@pytest.mark.parametrize(
    "tag",
    [
        "1.2.3-2025",  # a short stamp
        "1.2.3-202501010017420",  # a long one
        "1.2.3-20251301001742",  # month 13: no instant
        "1.2.3-20250230001742",  # 30 February
        "v1.2.3-20250101001742",
        "1.2-20250101001742",
        "1.2.3-20250101001742-rc",
        "sha256-" + "a" * 64,  # a referrers tag (attestations)
        "buildcache",
        "main",
    ],
)
def test_malformed_and_other_tags_are_ignored_and_protect_their_image(tag: str) -> None:
    tags = runs(3)
    tags["latest"] = tags[max(tags)]
    tags[tag] = digest(tag)
    plan = plan_pruning(tags, 1)
    assert plan.other == (tag,)
    assert tag not in deleted_tags(tags, 1)
    assert len(plan.delete) == 2 and len(plan.kept) == 1  # an ignored tag does not count among the kept
    # An old stamp tag on the same image as the other tag: the image stays (deleting it would delete that tag).
    tags[tag] = tags[min(tags)]
    assert min(tags) not in deleted_tags(tags, 1)


def test_an_image_with_a_kept_stamp_tag_is_kept_whatever_its_other_stamp_tags() -> None:
    tags = runs(4)
    oldest, newest = sorted(tags)[0], sorted(tags)[-1]
    tags[oldest] = tags[newest]  # one image under two stamp tags (a rebuild that came out byte for byte the same)
    tags["latest"] = tags[sorted(tags)[1]]
    assert deleted_tags(tags, 1) == [sorted(tags)[2]]


def test_an_image_under_two_old_stamp_tags_is_one_deletion_with_both() -> None:
    tags = runs(4)
    first, second = sorted(tags)[:2]
    tags[second] = tags[first]
    tags["latest"] = tags[max(tags)]
    assert plan_pruning(tags, 1).delete[0] == Deletion(tags[first], (first, second))
    assert len(plan_pruning(tags, 1).delete) == 2


def test_keep_zero_leaves_only_the_served_images_and_a_negative_keep_is_refused() -> None:
    tags = runs(3)
    tags["latest"] = tags[min(tags)]
    assert deleted_tags(tags, 0) == sorted(tags)[1:3]
    with pytest.raises(ValueError):
        plan_pruning(tags, -1)


def test_a_reruns_build_is_a_stamp_tag_of_its_own() -> None:
    served, old, rerun = ("sha256:" + c * 64 for c in "abc")
    tags = {"latest": served, "0.1.0": served, "0.1.0-20251001061742": old, "0.1.0-20251001061742-r2": rerun,
            "0.1.0-20251001121742": served}  # fmt: skip
    plan = plan_pruning(tags, keep=2)
    assert [deletion.digest for deletion in plan.delete] == [old]  # the re-run's image is newer than its run's
