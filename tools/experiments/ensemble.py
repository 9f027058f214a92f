"""How much do models gain together? Logit averages of seed CNNs, measured like every variant.

    .venv/bin/python tools/experiments/ensemble.py NAME=CKPT.keras NAME=CKPT.keras ...

Prints one JSON line per model, per pair and for all of them together: the pooled self-blend AUC
on the tune and the reserved people (variants.measure's pairs, eval_set seed 1) of each model's
score, and of the mean of the members' logits. An ensemble is not the seed CNN and costs one
classification a member, so this is a measure of what differently trained models miss alike, not
a candidate for serving.

Result (2026-11-28, benchmarks/results/ensemble.json, docs/experiments.md "Mixed faces" and after):
the shipped model (cheap layout) with the hires-layout warp run from the same weights scored
reserved 0.855 against 0.835 and 0.833 alone, more than any same-layout ensemble tried (+0.008
to +0.012, "Building on the warps"); two hires runs together did not gain.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import logit, measure_sets, pin_threads  # noqa: E402  (after the path set-up)


def main() -> int:
    named = dict(arg.split("=", 1) for arg in sys.argv[1:])
    if len(named) < 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    pin_threads()
    import keras

    from converter.metrics import auc
    from converter.train import predict

    models = {n: keras.models.load_model(p, compile=False) for n, p in named.items()}
    groups: list[tuple[str, ...]] = [(n,) for n in models]
    groups += itertools.combinations(models, 2)
    groups += [tuple(models)] if len(models) > 2 else []
    scores = {}
    for name in ("tune", "eval"):
        x, y, _ = measure_sets(name)
        scores[name] = (y, {n: logit(predict(m, x)) for n, m in models.items()})
    for group in groups:
        row: dict = {"members": list(group)}
        for name, (y, logits) in scores.items():
            row[f"{name}_auc"] = round(auc(y, sum(logits[n] for n in group)), 4)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
