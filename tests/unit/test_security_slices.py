"""The slice planner: top-level directories, size-based splits within the caps, stable ids."""

from __future__ import annotations

from shared.security import slices
from shared.security.slices import plan, slice_id


def paths(planned):
    return [(s["path"], s.get("excludes", [])) for s in planned]


def test_spec_paths_win_and_nothing_else_is_reviewed():
    assert paths(plan({"paths": ["web", "api", "web"]}, [{"path": "x", "type": "tree"}])) == [("api", []), ("web", [])]


def test_without_sizes_only_the_top_level_is_sliced():
    tree = [{"path": "b", "type": "tree"}, {"path": "a/deep/x.py", "type": "blob"}, {"path": "f.txt", "type": "blob"}]
    assert paths(plan({}, tree)) == [("", ["a", "b"]), ("a", []), ("b", [])]
    assert plan({}, [])[0] == {"sliceID": slice_id(""), "path": "", "title": "(repository root)"}


def test_large_directories_split_largest_first_within_the_slice_cap(monkeypatch):
    monkeypatch.setattr(slices, "MAX_SLICES", 6)
    big = slices.SLICE_BYTES
    tree = [{"path": "big/a/x", "type": "blob", "size": big}, {"path": "big/b/x", "type": "blob", "size": big},
            {"path": "mid/a/x", "type": "blob", "size": big // 2 + 1}, {"path": "mid/b/x", "type": "blob", "size": big // 2},
            {"path": "mid/c/x", "type": "blob", "size": 1}, {"path": "small/x", "type": "blob", "size": 1}]
    # big (2 MB) splits first; mid (1 MB + 2) would need 3 more slices: over the cap, so it stays whole;
    # big/a (exactly SLICE_BYTES) is not over the limit.
    assert paths(plan({}, tree)) == [("", ["big", "mid", "small"]), ("big", ["big/a", "big/b"]), ("big/a", []),
                                     ("big/b", []), ("mid", []), ("small", [])]
    assert [s["sliceID"] for s in plan({}, list(reversed(tree)))] == [s["sliceID"] for s in plan({}, tree)]


def test_the_top_level_cap_leaves_the_rest_to_the_root_slice(monkeypatch):
    monkeypatch.setattr(slices, "MAX_DIR_SLICES", 2)
    tree = [{"path": name, "type": "tree"} for name in ("d", "c", "b", "a")]
    assert paths(plan({}, tree)) == [("", ["a", "b"]), ("a", []), ("b", [])]
