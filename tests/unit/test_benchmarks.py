"""The benchmark's pure parts: MAC counting, Lambda cost, target checks, the report.

Nothing here measures or asserts on time: the figures come from `python -m benchmarks.run`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.analysis import (
    PRICES,
    check,
    conv2d_macs,
    cost_per_million,
    cpu_share,
    lambda_costs,
    summary,
    table,
)

ROOT = Path(__file__).resolve().parents[2]


def test_conv2d_macs_counts_one_dot_product_per_output():
    # a 3x3 kernel over one input channel, four outputs: 4 x 9 multiply-accumulates
    assert conv2d_macs(2, 2, 1, 3, 3, 1) == 36
    assert conv2d_macs(2, 2, 4, 3, 3, 8, groups=2) == 2 * 2 * 4 * 9 * 4


def test_seed_cnn_macs_match_a_hand_count():
    pytest.importorskip("keras")
    from benchmarks.analysis import model_cost
    from converter.model import build_model

    cost = model_cost(build_model())
    rows = {r["layer"]: r for r in cost["layers"]}
    # conv1: 5x5 over RGB, 64 filters, stride 2 with "same" padding: 224 -> 112
    assert rows["conv1"]["output"] == [112, 112, 64]
    assert rows["conv1"]["macs"] == 112 * 112 * 64 * (5 * 5 * 3) == 60_211_200
    # conv2 after pool1 (4x4): 28x28, 5x5 over 64 channels, 64 filters
    assert rows["conv2"]["macs"] == 28 * 28 * 64 * 5 * 5 * 64
    # a dilated 3x3 conv costs what an undilated one does: 7x7x32 outputs, 3x3x32 each
    assert rows["conv6"]["macs"] == 7 * 7 * 32 * 3 * 3 * 32
    # dense1: the 7x7x32 output of conv8, flattened, into 256 units
    assert rows["flatten"]["output"] == [7 * 7 * 32]
    assert rows["dense1"]["macs"] == 7 * 7 * 32 * 256
    assert cost["macs"] == sum(r["macs"] for r in cost["layers"])
    assert cost["flops"] == 2 * cost["macs"]
    assert cost["params"] == build_model().count_params()


def test_lambda_cost_formula():
    # 100 ms at 1 GB on x86_64: 0.1 GB-s per call
    usd = cost_per_million(100.0, 1024, PRICES.x86_64_gb_s, PRICES.per_million_requests)
    assert usd == pytest.approx(1e6 * 0.1 * 0.0000166667 + 0.20)
    # billed in whole milliseconds, rounded up
    assert cost_per_million(99.2, 1024, 1.0, 0.0) == cost_per_million(100.0, 1024, 1.0, 0.0)
    # half the memory, half the duration charge; the request charge stays
    half = cost_per_million(100.0, 512, PRICES.x86_64_gb_s, 0.0)
    assert half == pytest.approx(cost_per_million(100.0, 1024, PRICES.x86_64_gb_s, 0.0) / 2)
    assert PRICES.arm64_gb_s < PRICES.x86_64_gb_s


def test_cpu_share_stretches_single_threaded_time_below_one_vcpu():
    assert cpu_share(1769) == 1.0 and cpu_share(3538) == 1.0
    assert cpu_share(1024) == pytest.approx(1024 / 1769)
    c = lambda_costs(40.0, 1024)
    assert c["duration_ms_scaled"] == pytest.approx(40.0 * 1769 / 1024)
    for arch in ("x86_64", "arm64"):
        assert c[arch]["usd_per_million_scaled"] > c[arch]["usd_per_million_measured"]
    assert c["arm64"]["usd_per_million_measured"] < c["x86_64"]["usd_per_million_measured"]


def test_target_checks_report_the_margin_both_ways():
    met = check("warm", 25.0, 30.0, "ms")
    assert met["status"] == "MET" and met["margin"] == 5.0
    missed = check("warm", 40.0, 30.0, "ms")
    assert missed["status"] == "MISSED" and missed["margin"] == -10.0
    assert check("speed-up", 6.0, 5.0, "x", higher_is_better=True)["status"] == "MET"
    assert check("speed-up", 2.0, 5.0, "x", higher_is_better=True)["margin"] == -3.0
    assert check("layer", None, 100.0, "MB")["status"] == "NOT MEASURED"


def test_summary_and_table():
    s = summary([3.0, 1.0, 2.0, 10.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.5, 1.0, 10.0, 4)
    assert summary([])["median"] is None
    text = table(["a", "b"], [[1, None], ["long cell", 2]])
    lines = text.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| a") and "| -" in lines[2]


def test_report_and_plot_render_from_the_committed_results(tmp_path):
    """The table and the plot are made from the JSON alone (the README's figures)."""
    latest = ROOT / "benchmarks" / "results" / "latest.json"
    if not latest.exists():
        pytest.skip("no benchmarks/results/latest.json yet: run python -m benchmarks.run")
    pytest.importorskip("matplotlib")
    from benchmarks.run import plot, report

    result = json.loads(latest.read_text())
    text = report(result)
    assert "## Targets" in text and "litert-int8" in text
    for t in result["targets"]:
        assert t["status"] in ("MET", "MISSED", "NOT MEASURED")
    plot(result, tmp_path / "latency.png")
    assert (tmp_path / "latency.png").stat().st_size > 10_000
