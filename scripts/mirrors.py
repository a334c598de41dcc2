"""Reading files of fetched public repositories (bare mirrors): shared by the data recipes
under scripts/ (price lists, region reference)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_show(git_dir: Path, commit: str, path: str) -> bytes:
    """Read one file of one commit from a bare mirror."""
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
    )
    return out.stdout
