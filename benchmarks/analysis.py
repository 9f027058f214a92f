"""The benchmark's pure parts: statistics, the classifier's MAC count, Lambda cost, target checks.

Nothing here imports TensorFlow, LiteRT or OpenCV, and nothing here measures time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# ---------------------------------------------------------------- statistics


def summary(samples: Iterable[float]) -> dict[str, Any]:
    """Median, min and max of repeated measurements (and how many there were)."""
    xs = [float(x) for x in samples]
    if not xs:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt(s: dict[str, Any] | None, digits: int = 1, unit: str = "") -> str:
    """'12.3 (11.9-13.0)' for a summary; '-' when nothing was measured."""
    if not s or s.get("median") is None:
        return "-"
    f = f"{{:.{digits}f}}"
    return f"{f.format(s['median'])}{unit} ({f.format(s['min'])}-{f.format(s['max'])})"


def ratio(slow: float | None, fast: float | None) -> float | None:
    """How many times faster `fast` is than `slow` (both times)."""
    if not slow or not fast:
        return None
    return slow / fast


# ---------------------------------------------------------------- MACs / FLOPs


def conv2d_macs(out_h: int, out_w: int, out_c: int, k_h: int, k_w: int, in_c: int, groups=1):
    """Multiply-accumulates of a 2-D convolution: one k_h x k_w x (in_c / groups) dot product
    per output element. Stride and dilation only change the output size, not this."""
    return out_h * out_w * out_c * k_h * k_w * (in_c // groups)


def dense_macs(in_features: int, units: int) -> int:
    return in_features * units


def _shape(t) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape[1:])


def layer_costs(model) -> list[dict[str, Any]]:
    """Per-layer cost of a Keras functional model, counted from the layers' configs and their
    input/output shapes (batch 1). MACs for Conv2D and Dense; "other" counts elementwise work
    (bias, batch-norm scale+shift, ReLU, max-pool comparisons) that converters mostly fuse."""
    rows = []
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind == "InputLayer":
            continue
        cfg = layer.get_config()
        out = _shape(layer.output)
        inp = _shape(layer.input)
        n_out = math.prod(out)
        macs = other = 0
        if kind == "Conv2D":
            kh, kw = cfg["kernel_size"]
            macs = conv2d_macs(
                out[0], out[1], out[2], kh, kw, inp[-1], int(cfg.get("groups", 1) or 1)
            )
            other = n_out if cfg.get("use_bias") else 0
        elif kind == "Dense":
            macs = dense_macs(inp[-1], int(cfg["units"]))
            other = n_out if cfg.get("use_bias") else 0
        elif kind == "BatchNormalization":
            other = 2 * n_out
        elif kind in ("ReLU", "Activation"):
            other = n_out
        elif kind == "MaxPooling2D":
            ph, pw = cfg["pool_size"]
            other = n_out * (ph * pw - 1)
        rows.append(
            {
                "layer": layer.name,
                "kind": kind,
                "output": list(out),
                "macs": macs,
                "other_ops": other,
            }
        )
    return rows


def model_cost(model) -> dict[str, Any]:
    rows = layer_costs(model)
    macs = sum(r["macs"] for r in rows)
    return {
        "macs": macs,
        "flops": 2 * macs,  # one multiply and one add per MAC
        "other_ops": sum(r["other_ops"] for r in rows),
        "params": int(model.count_params()),
        "layers": rows,
        "convention": "FLOPs = 2 x MACs of Conv2D and Dense at batch 1; elementwise ops apart",
    }


def achieved(flops: float, ms: float | None, peak_gflops: float | None) -> dict[str, Any]:
    """GFLOP/s reached by one inference of `flops` in `ms`, and its share of a peak."""
    if not ms or not peak_gflops:
        return {"gflops": None, "fraction_of_peak": None}
    g = flops / (ms / 1000.0) / 1e9
    return {"gflops": g, "fraction_of_peak": g / peak_gflops}


# ---------------------------------------------------------------- Lambda cost


@dataclass(frozen=True)
class LambdaPrices:
    """Published on-demand prices, US East (N. Virginia), first volume tier."""

    x86_64_gb_s: float = 0.0000166667
    arm64_gb_s: float = 0.0000133334
    per_million_requests: float = 0.20
    vcpu_at_mb: int = 1769  # memory at which a function gets one full vCPU
    region: str = "us-east-1"
    source: str = (
        "aws.amazon.com/lambda/pricing (renders its rates client-side); the same figures "
        "quoted by artillery 2.0.28 lib/platform/aws-lambda/prices.js (base: x86_64 1666670, "
        "arm64 1333340 per 1e11 GB-s), cloudchipr.com/blog/aws-lambda-pricing (2024) and the "
        "api-evangelist aws-lambda pricing sheet (read 2026-09-20: $0.20 per million requests)"
    )
    looked_up: str = "2026-11-26"


PRICES = LambdaPrices()


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration in 1 ms steps, rounded up."""
    return max(1, math.ceil(duration_ms - 1e-9))


def cost_per_million(
    duration_ms: float, memory_mb: int, price_gb_s: float, per_million_requests: float
) -> float:
    """USD for one million invocations of `duration_ms` each at `memory_mb` (1 GB = 1024 MB)."""
    gb_s = billed_ms(duration_ms) / 1000.0 * memory_mb / 1024.0
    return 1e6 * gb_s * price_gb_s + per_million_requests


def cpu_share(memory_mb: int, full_vcpu_mb: int = PRICES.vcpu_at_mb) -> float:
    """Fraction of one vCPU a function gets: CPU is allocated in proportion to memory, one
    full vCPU at 1,769 MB. Single-threaded work gains nothing from more than one."""
    return min(1.0, memory_mb / full_vcpu_mb)


def lambda_costs(duration_ms: float, memory_mb: int, prices: LambdaPrices = PRICES) -> dict:
    """Cost per million images for a warm duration measured on one full core: as measured, and
    stretched by the CPU share the memory size buys (the estimate to plan with)."""
    share = cpu_share(memory_mb, prices.vcpu_at_mb)
    scaled = duration_ms / share
    out: dict[str, Any] = {
        "memory_mb": memory_mb,
        "duration_ms_measured": duration_ms,
        "cpu_share": share,
        "duration_ms_scaled": scaled,
    }
    for arch, price in (("x86_64", prices.x86_64_gb_s), ("arm64", prices.arm64_gb_s)):
        out[arch] = {
            "usd_per_million_measured": cost_per_million(
                duration_ms, memory_mb, price, prices.per_million_requests
            ),
            "usd_per_million_scaled": cost_per_million(
                scaled, memory_mb, price, prices.per_million_requests
            ),
        }
    return out


def prices_dict(prices: LambdaPrices = PRICES) -> dict[str, Any]:
    return asdict(prices)


# ---------------------------------------------------------------- targets


def check(
    name: str,
    value: float | None,
    target: float,
    unit: str,
    higher_is_better: bool = False,
    note: str = "",
) -> dict[str, Any]:
    """MET / MISSED with the margin (positive = room left, negative = short by)."""
    if value is None:
        return {
            "target": name,
            "value": None,
            "limit": target,
            "unit": unit,
            "status": "NOT MEASURED",
            "margin": None,
            "note": note,
        }
    margin = value - target if higher_is_better else target - value
    return {
        "target": name,
        "value": value,
        "limit": target,
        "unit": unit,
        "status": "MET" if margin >= 0 else "MISSED",
        "margin": margin,
        "margin_pct": 100.0 * margin / target if target else None,
        "note": note,
    }


# ---------------------------------------------------------------- tables


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (renders in the README and reads as plain text)."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])
