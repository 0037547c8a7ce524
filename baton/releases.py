"""Baton's releases, read from `releases.toml` at the repository root: each version, its commit and its date.

Git tags may not travel with a clone, so the upgrade tests find the previous release's code by the commit named
here, and the replay tests find each release's recorded histories by its version.
"""

from __future__ import annotations

import hashlib
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RELEASES_FILE",
    "Release",
    "checksums",
    "current_release",
    "history_dir",
    "load_releases",
    "previous_release",
    "read_checksums",
    "write_checksums",
]

ROOT = Path(__file__).resolve().parents[1]
RELEASES_FILE = ROOT / "releases.toml"
HISTORIES = ROOT / "tests" / "histories"
FIRST_RELEASE = "0.1.0"
"""Its histories predate per-release folders and stay where they were recorded: tests/histories/*.json."""
CHECKSUMS = "SHA256SUMS"


@dataclass(frozen=True)
class Release:
    version: str
    commit: str | None
    """None for the release in development: it has no commit yet."""
    date: str | None = None

    @property
    def released(self) -> bool:
        return self.commit is not None


def load_releases(path: Path = RELEASES_FILE) -> list[Release]:
    """Every release, oldest first; only the last may lack a commit."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("release", [])
    releases = [Release(str(e["version"]), e.get("commit") or None, e.get("date")) for e in entries]
    if not releases:
        raise ValueError(f"{path} lists no release")
    if any(not release.released for release in releases[:-1]):
        raise ValueError(f"{path}: only the last release may lack a commit")
    if len({release.version for release in releases}) != len(releases):
        raise ValueError(f"{path}: a version is listed twice")
    return releases


def current_release(path: Path = RELEASES_FILE) -> Release:
    """The newest release: the code in this checkout."""
    return load_releases(path)[-1]


def previous_release(path: Path = RELEASES_FILE) -> Release:
    """The newest release with a commit before the current one: the code today's workers must take tasks from."""
    releases = load_releases(path)
    if len(releases) < 2:
        raise ValueError(f"{path} has no release before {releases[-1].version}")
    return releases[-2]


def history_dir(release: Release, histories: Path = HISTORIES) -> Path:
    """Where a release's recorded histories live (the first release's are the folder's own *.json files)."""
    return histories if release.version == FIRST_RELEASE else histories / release.version


def checksums(folder: Path) -> dict[str, str]:
    """The SHA-256 of every history in one release's set (that folder's *.json only, never a subfolder's)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.json"))}


def write_checksums(folder: Path) -> Path:
    """Pin a set as `sha256sum` would list it, so a released history that changes fails the tests."""
    target = folder / CHECKSUMS
    target.write_text("".join(f"{digest}  {name}\n" for name, digest in checksums(folder).items()), encoding="utf-8")
    return target


def read_checksums(folder: Path) -> dict[str, str]:
    """The pinned digests of a set, by file name."""
    lines = (folder / CHECKSUMS).read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines if line.strip())}


def main(argv: list[str]) -> int:
    """`python -m baton.releases unreleased|pin`: the two steps of `make histories` around the recording tests.

    `unreleased` refuses to record over a released set (the current release already has a commit); `pin` writes
    the current set's SHA256SUMS once it is recorded."""
    release = current_release()
    folder = history_dir(release)
    if argv == ["unreleased"]:
        if release.released:
            print(f"{release.version} is released (commit {release.commit}): its histories never change; "
                  "add the next version to releases.toml first", file=sys.stderr)
            return 1
        print(f"recording {release.version}'s histories into {folder.relative_to(ROOT)}")
        return 0
    if argv == ["pin"]:
        print(f"pinned {len(checksums(folder))} histories in {write_checksums(folder).relative_to(ROOT)}")
        return 0
    print("usage: python -m baton.releases unreleased|pin", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
