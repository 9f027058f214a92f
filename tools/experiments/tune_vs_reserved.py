"""Does a gain on the tune people predict a gain on the reserved people?

Every comparison in docs/experiments.md ("What we tried") is a variant against its twin (same
starting weights, seed and batches), each measured by variants.measure on self-blends of the tune
and the reserved people. This reads those pairs back from benchmarks/results/*.json (the paths below
name each variant and its twin) and prints, per pair, the change on each set, then the mean changes,
how often the two changed the same way, and the correlation of the two changes. The recipe chooses
checkpoints and seeds on the tune people, so this says how far that choice can be trusted to carry
to people outside both sets.

    python3 tools/experiments/tune_vs_reserved.py
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks/results"

# (file, variant's path, twin's path): the twin is the same run without the change
PAIRS = (
    [("identity_warps", f"runs/warp_seed{s}/best", f"runs/plain_seed{s}/best") for s in range(3)]
    + [
        ("sam", f"sam/rho{r}_seed{s}", f"baseline_warps/seed{s}")
        for r, seeds in (("0.05", (0, 2)), ("0.15", (0, 1, 2)), ("0.3", (0, 1, 2)))
        for s in seeds
    ]
    + [
        ("layout", "stage1_from_scratch_seed0/hires/last", "stage1_from_scratch_seed0/cheap/last"),
        ("layout", "warp_stage/from_1344_seed0/hires", "warp_stage/from_1344_seed0/cheap"),
        (
            "layout",
            "warp_stage/from_0744_seed2/hires",
            "warp_stage/from_0744_seed2/cheap (the shipped run)",
        ),
        ("layout", "warp_stage/from_0744_seed0/hires", "warp_stage/from_0744_seed0/cheap"),
        ("more_still_people", "with_sources/seed0", "shipped_recipe/seed0"),
        ("more_still_people", "with_sources/seed1", "shipped_recipe/seed1"),
        ("more_still_people", "with_sources/seed2", "shipped_recipe/seed2"),
        ("generic_and_symmetric", "runs[0]", "baseline"),
        ("generic_and_symmetric", "runs[1]", "baseline"),
        (
            "warp_followups",
            "runs/second_round_from_1344_seed0_strong",
            "runs/second_round_from_1344_seed0_warp0.7",
        ),
        (
            "warp_followups",
            "runs/second_round_from_1344_seed0_strong_269faces",
            "runs/second_round_from_1344_seed0_strong",
        ),
        ("warp_followups", "runs/from_0744_seed2_strong", "shipped_measured_alike"),
        ("warp_followups", "runs/from_0744_seed2_warp0.7_269faces", "shipped_measured_alike"),
        ("warp_followups", "runs/from_0744_seed2_warp0.7_relight0.5", "shipped_measured_alike"),
        ("warp_followups", "runs/from_0744_seed2_warp0.7_grid6", "shipped_measured_alike"),
        ("mixstyle", "mixstyle/mixstyle-s0", "baseline_warps/warp-warp"),
        ("mixstyle", "mixstyle/mixstyle-s1", "baseline_warps/warp-warp-s1"),
        ("mixstyle", "mixstyle/mixstyle-s2", "baseline_warps/warp-warp-s2"),
        ("mixstyle", "mixstyle_strong/mixstyle-strong-s2", "baseline_warps/warp-warp-s2"),
        ("sam_hires", "hires_sam015/sam15-hires-1344-s0", "hires_plain/layout-hires-warp-s0"),
        ("sam_hires", "hires_sam015/sam15-hires-s2", "hires_plain/layout-hires-warp-s2"),
        ("identity_morph", "morph/morph-s0", "baseline_warps/warp-warp"),
        ("identity_morph", "morph/morph-s2", "baseline_warps/warp-warp-s2"),
        ("hires_more", "hires_more/hires-more-s0", "baseline_hires/seed0"),
        ("hires_more", "hires_more/hires-more-s2", "baseline_hires/seed2"),
        ("distill", "distill/distill-s0", "baseline_warps/warp-warp"),
        ("distill", "distill/distill-s1", "baseline_warps/warp-warp-s1"),
        ("distill", "distill/distill-s2", "baseline_warps/warp-warp-s2"),
        ("distill", "distill_more/distill-more-s2", "baseline_cheap_more/seed2"),
        ("distill", "distill2/distill2-s0", "baseline_warps/warp-warp"),
        ("distill", "distill2/distill2-s2", "baseline_warps/warp-warp-s2"),
        ("distill", "distill2_share/distill2-a0.75-s2", "distill2/distill2-s2"),
        ("distill", "distill2_share/distill2-a1.0-s2", "distill2/distill2-s2"),
        ("distill", "distill2_share_seeds/distill2-a0.75-s0", "distill2/distill2-s0"),
        ("distill", "distill3/distill3-a0.75-s0", "distill2_share_seeds/distill2-a0.75-s0"),
        ("distill", "distill3/distill3-a0.75-s2", "distill2_share/distill2-a0.75-s2"),
        ("cutout", "cutout-s0", "twins/distill2-s0"),
        ("cutout", "cutout-s2", "twins/distill2-s2"),
        ("cutout", "cutout-strong-s2", "twins/distill2-s2"),
    ]
)


def at(doc, path: str) -> dict:
    """The entry at a path of keys, where "[i]" indexes a list."""
    for part in path.split("/"):
        if part.endswith("]") and "[" in part:
            key, index = part[:-1].split("[")
            doc = doc[key][int(index)] if key else doc[int(index)]
        else:
            doc = doc[part]
    return doc


def main() -> int:
    deltas = []
    for name, variant, twin in PAIRS:
        doc = json.loads((RESULTS / f"{name}.json").read_text())
        v, t = at(doc, variant), at(doc, twin)
        d_tune, d_res = v["tune_auc"] - t["tune_auc"], v["eval_auc"] - t["eval_auc"]
        deltas.append((d_tune, d_res))
        print(f"{name:22s} {variant:55.55s} tune {d_tune:+.3f}  reserved {d_res:+.3f}")
    tune, res = zip(*deltas, strict=True)
    same = sum((a > 0) == (b > 0) for a, b in deltas)
    print(
        f"{len(deltas)} pairs: mean change tune {statistics.mean(tune):+.4f}, reserved "
        f"{statistics.mean(res):+.4f}; same direction in {same}; correlation "
        f"{statistics.correlation(tune, res):.2f}; tune rose in {sum(a > 0 for a in tune)}, "
        f"reserved in {sum(b > 0 for b in res)}; least-squares slope of the reserved change on "
        f"the tune change {statistics.linear_regression(tune, res).slope:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
