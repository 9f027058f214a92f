"""A training folder with the two Debian sources beside assets/faces/train's: OUT/faces.

libdlib19.1's example faces and gramps' example portraits were first pinned for a trial in
benchmarks/results/more_still_people.json -> assets_entries, and this script fetched them
itself. Since 2026-11-28 tools/assets.json fetches the same entries at set-up as group
"teacher" (assets/faces/teacher), and converter.recipe links both folders for its hires-more
stage (recipe.more_faces); this makes the same folder of links for the experiments that take
--data OUT/faces (the runs recorded before read runs/data-more/faces):

    .venv/bin/python tools/experiments/extra_faces.py --out runs/data-more
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    from converter.recipe import more_faces

    data = more_faces(a.out / "faces")
    print(f"{data}: {', '.join(sorted(p.name for p in data.iterdir()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
