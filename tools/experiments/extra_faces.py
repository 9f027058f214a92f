"""A training folder with the candidate sources that tools/assets.json did not fetch then.

Since 2026-11-28 tools/assets.json fetches both as group "teacher" (assets/faces/teacher) and
converter.recipe links them beside the training faces for its hires-more stage (more_faces);
this script made the runs/data-more folder of the runs recorded before that.

benchmarks/results/more_still_people.json -> assets_entries holds pinned, hash-checked entries
for two Debian sources of still photos (libdlib19.1's example faces, gramps' example portraits)
that the shipped model is not trained on. This fetches them with tools/fetch_assets.py's own
download and checks, unpacks them under OUT/, and links every source folder of
assets/faces/train beside them, so `converter.train --data OUT` trains on both:

    .venv/bin/python tools/experiments/extra_faces.py --out runs/data-more
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    import tools.fetch_assets as fa

    entries = json.loads((ROOT / "benchmarks/results/more_still_people.json").read_text())
    unpacked = a.out.resolve() / "unpacked"
    fa.ASSETS = unpacked  # extract() places files under ASSETS / the entry's target
    for name, entry in entries["assets_entries"].items():
        n = fa.extract(entry, fa.download(entry))
        print(f"{name}: {n} files")
    data = a.out / "faces"
    data.mkdir(parents=True, exist_ok=True)
    sources = [*(ROOT / "assets/faces/train").iterdir(), *(unpacked / "faces/train").iterdir()]
    for source in sources:
        link = data / source.name
        if not link.exists():
            link.symlink_to(source.resolve(), target_is_directory=True)
    print(f"{data}: {', '.join(sorted(p.name for p in data.iterdir()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
