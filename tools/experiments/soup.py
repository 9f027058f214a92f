"""A weight soup: the average of fine-tunes that share their starting weights, measured.

    .venv/bin/python tools/experiments/soup.py --out runs/soup/soup.keras CKPT.keras CKPT.keras ...

Averaging the weights of several fine-tunes of one model (Wortsman et al., ICML 2022, "Model
soups") often generalises better than any one of them, at no cost at inference: the result is
one seed CNN again. The checkpoints must share their starting weights (here: fine-tunes of
runs/reference/best.keras with different seeds). Prints, for each checkpoint, the uniform soup
and the greedy soup (ingredients added in order of tune AUC while the tune AUC does not drop),
one JSON line each with variants.py's measures (tune and reserved self-blend AUC, paired win
rate, median score of plain real crops). Choose on the tune AUC; the reserved one is the report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True, help="where the chosen soup is saved")
    a = p.parse_args()
    import keras
    import numpy as np
    from variants import measure

    models = [keras.models.load_model(c, compile=False) for c in a.checkpoints]

    def soup(members: list[int]):
        model = keras.models.clone_model(models[members[0]])
        weights = [models[i].get_weights() for i in members]
        model.set_weights([np.mean(ws, axis=0) for ws in zip(*weights, strict=True)])
        return model

    results = []
    for i, path in enumerate(a.checkpoints):
        results.append({"model": str(path), **measure(models[i])})
        print(json.dumps(results[-1]), flush=True)
    uniform = {"model": "uniform soup", **measure(soup(list(range(len(models)))))}
    print(json.dumps(uniform), flush=True)

    order = sorted(range(len(models)), key=lambda i: -results[i]["tune_auc"])
    members, best = [order[0]], {k: v for k, v in results[order[0]].items() if k != "model"}
    for i in order[1:]:
        trial = measure(soup([*members, i]))
        if trial["tune_auc"] >= best["tune_auc"]:
            members, best = [*members, i], trial
    greedy = {"model": f"greedy soup of {[str(a.checkpoints[i]) for i in members]}", **best}
    print(json.dumps(greedy), flush=True)

    chosen = max([uniform, greedy], key=lambda r: r["tune_auc"])
    model = soup(list(range(len(models)))) if chosen is uniform else soup(members)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(a.out)
    print(json.dumps({"saved": str(a.out), "as": chosen["model"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
