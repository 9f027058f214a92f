"""Metrics and the parity gate's arithmetic (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.metrics import auc, classification_report, roc_curve
from converter.parity import ParityError, compare, failures, gate


def test_auc_known_values():
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert auc([0, 1], [0.5, 0.5]) == 0.5  # ties count half
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.3 * y, 2)  # rounding makes ties
    pos, neg = s[y == 1], s[y == 0]
    pairwise = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (
        len(pos) * len(neg)
    )
    assert auc(y, s) == pytest.approx(pairwise)


def test_roc_and_report():
    fpr, tpr = roc_curve([0, 1, 0, 1], [0.1, 0.9, 0.6, 0.4])
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    r = classification_report(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.6, 0.4]), 0.5)
    assert r["confusion"] == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    assert r["accuracy"] == 0.5 and r["precision"] == 0.5 and r["recall"] == 0.5


def test_gate_passes_close_scores_and_refuses_far_ones():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 1000)
    ref = np.clip(0.2 + 0.6 * y + rng.normal(0, 0.1, 1000), 0, 1)
    close = np.clip(ref + rng.normal(0, 0.003, 1000), 0, 1)
    assert gate(compare(ref, close, y, 0.5), "int8")["passed"]
    far = np.clip(ref + rng.normal(0, 0.15, 1000), 0, 1)
    report = compare(ref, far, y, 0.5)
    assert any("agreement" in f for f in failures(report))
    with pytest.raises(ParityError, match="int8 refused"):
        gate(report, "int8")
