"""The repository stands on its own: it names no path of the machine it was written on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Absolute paths of the machines this was developed on (a clone must never depend on them).
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|home/runner|Users/[^/\s]+)/[\w.-]+")
ALLOWED = {"/home/kedro_docker"}  # the image's project folder, a documented default


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = [REPO / name.decode() for name in listed if name]
    return [f for f in files if f.is_file() and f.suffix not in {".csv", ".png", ".json"}]


def test_no_file_names_a_path_of_the_development_machine() -> None:
    found = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in MACHINE_PATH.finditer(text):
            if not any(match.group().startswith(a) for a in ALLOWED):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(REPO)}:{line}: {match.group()}")
    assert not found, "\n".join(found)
