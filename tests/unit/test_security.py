"""Security tooling as tests, so CI runs it: bandit on our code, checkov on the template,
pip-audit on the installed dependencies. (cfn-lint and `sam validate --lint`: test_template.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BANDIT_TARGETS = [
    "deepfake_scanner", "deepfake_service", "handler.py", "local", "layers", "converter",
    "tools", "benchmarks",
]  # fmt: skip


def run(cmd: list[str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_bandit_finds_nothing_in_our_code():
    r = run(
        [str(BIN / "bandit"), "-q", "-c", "pyproject.toml", "-f", "json", "-r", *BANDIT_TARGETS]
    )
    report = json.loads(r.stdout)
    issues = [f"{i['filename']}:{i['line_number']} {i['test_id']} {i['issue_text']}"
              for i in report["results"]]  # fmt: skip
    assert issues == [], "\n".join(issues)
    assert report["metrics"]["_totals"]["loc"] > 1000  # it really scanned our code


def test_checkov_passes_the_template():
    checkov = ROOT / ".venv-sec" / "bin" / "checkov"
    if not checkov.exists():
        pytest.fail(f"{checkov} missing: run `make test` (it installs checkov)")
    r = run([str(checkov), "-f", "template.yaml", "--framework", "cloudformation",
             "--skip-download", "-o", "json", "--quiet"])  # fmt: skip
    report = json.loads(r.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0 and failed == [], failed
    assert summary["passed"] >= 20
    # every suppression in the template carries its reason
    for check in report["results"].get("skipped_checks", []):
        assert check.get("suppress_comment"), check["check_id"]


def test_pip_audit_finds_no_known_vulnerability():
    r = run([str(BIN / "pip-audit"), "-l", "--progress-spinner", "off", "-f", "json"])
    report = json.loads(r.stdout or "{}")
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [f"{d['name']} {d['version']}: {[v['id'] for v in d['vulns']]}"
                  for d in audited if d.get("vulns")]  # fmt: skip
    assert vulnerable == [], vulnerable
    if not audited:
        pytest.skip(
            f"pip-audit could not audit any of {len(deps)} packages: no vulnerability service "
            "(PyPI's per-release JSON API, OSV) answers from this machine"
        )
