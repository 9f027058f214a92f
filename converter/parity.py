"""The parity gate: a converted model must say what the float Keras model says.

Compared on a held-out set (people never trained on): label agreement at the model's
threshold, max and mean |score difference|, Pearson correlation, and the AUC of each.
A variant that misses any tolerance is refused (ParityError) and not written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .metrics import auc


@dataclass(frozen=True)
class Tolerances:
    min_agreement: float = 0.995  # share of inputs whose label is the same at the threshold
    max_auc_drop: float = 0.005  # AUC(float) - AUC(converted)
    min_correlation: float = 0.99
    max_abs_diff: float = 0.10  # worst single score; int8 output steps are 1/256
    max_mean_abs_diff: float = 0.01


TOLERANCES = Tolerances()


class ParityError(Exception):
    """A converted model disagrees with its float original beyond the tolerances."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


def compare(
    reference: np.ndarray, converted: np.ndarray, labels: np.ndarray, threshold: float
) -> dict:
    reference = np.asarray(reference, np.float64)
    converted = np.asarray(converted, np.float64)
    diff = np.abs(reference - converted)
    spread = reference.std() * converted.std()
    return {
        "n": len(reference),
        "threshold": threshold,
        "agreement": float(np.mean((reference >= threshold) == (converted >= threshold))),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "correlation": float(np.corrcoef(reference, converted)[0, 1]) if spread > 0 else 0.0,
        "auc_reference": auc(labels, reference),
        "auc_converted": auc(labels, converted),
    }


def failures(report: dict, tol: Tolerances = TOLERANCES) -> list[str]:
    """Every tolerance the report misses, in words; empty when it passes."""
    out = []
    if report["agreement"] < tol.min_agreement:
        out.append(f"label agreement {report['agreement']:.4f} < {tol.min_agreement}")
    drop = report["auc_reference"] - report["auc_converted"]
    if drop > tol.max_auc_drop:
        out.append(f"AUC drop {drop:.4f} > {tol.max_auc_drop}")
    if report["correlation"] < tol.min_correlation:
        out.append(f"correlation {report['correlation']:.4f} < {tol.min_correlation}")
    if report["max_abs_diff"] > tol.max_abs_diff:
        out.append(f"max |diff| {report['max_abs_diff']:.4f} > {tol.max_abs_diff}")
    if report["mean_abs_diff"] > tol.max_mean_abs_diff:
        out.append(f"mean |diff| {report['mean_abs_diff']:.4f} > {tol.max_mean_abs_diff}")
    return out


def gate(report: dict, variant: str, tol: Tolerances = TOLERANCES) -> dict:
    """The report with the tolerances and verdict attached; raises ParityError on a miss."""
    missed = failures(report, tol)
    report = {**report, "tolerances": asdict(tol), "passed": not missed}
    if missed:
        raise ParityError(f"{variant} refused by the parity gate: " + "; ".join(missed), report)
    return report
