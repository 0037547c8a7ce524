"""The releases file and the patching discipline around it: each released history set is pinned by its SHA256SUMS,
so a recorded history of a released version can be neither changed, deleted nor joined by a new one."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from baton.releases import (
    HISTORIES,
    ROOT,
    Release,
    checksums,
    current_release,
    history_dir,
    load_releases,
    read_checksums,
    write_checksums,
)


def test_the_first_release_is_the_commit_before_the_restructuring() -> None:
    first = load_releases()[0]
    assert first == Release("0.1.0", "68b2d63e2b64b53f69f33d71872cba737dfa9582", "2026-11-27")
    assert history_dir(first) == HISTORIES


def test_the_package_version_is_the_current_release() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == current_release().version


def test_every_released_commit_is_in_this_clones_history() -> None:
    """The upgrade tests check a release's code out by its commit: a clone without it cannot run them."""
    for release in load_releases():
        if release.released:
            found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{release.commit}^{{commit}}"],
                                   capture_output=True, check=False)
            assert found.returncode == 0, f"{release.version}'s commit {release.commit} is not in this clone"


@pytest.mark.parametrize("release", [r for r in load_releases() if r.released], ids=lambda r: r.version)
def test_a_released_history_set_is_never_changed(release: Release) -> None:
    folder = history_dir(release)
    assert checksums(folder) == read_checksums(folder), (
        f"{release.version}'s recorded histories differ from {folder.relative_to(ROOT)}/SHA256SUMS: a released "
        "history is never deleted, rewritten or added to; record new ones for the current release (make histories)"
    )


def test_a_changed_history_breaks_its_pinned_checksums(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}", encoding="utf-8")
    write_checksums(tmp_path)
    assert checksums(tmp_path) == read_checksums(tmp_path)
    (tmp_path / "a.json").write_text("{ }", encoding="utf-8")
    assert checksums(tmp_path) != read_checksums(tmp_path)


def test_only_the_last_release_may_be_in_development(tmp_path: Path) -> None:
    path = tmp_path / "releases.toml"
    path.write_text('[[release]]\nversion = "1"\n[[release]]\nversion = "2"\ncommit = "abc"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="only the last release"):
        load_releases(path)
