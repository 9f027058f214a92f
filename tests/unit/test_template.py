"""template.yaml: SAM's and cfn-lint's own checks, and the properties we promise about it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_BIN = ROOT / ".venv-sam" / "bin"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) kept as {"Fn": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)  # nosec B506: a SafeLoader subclass


def tool(name: str) -> str:
    path = SAM_BIN / name
    if not path.exists():
        pytest.fail(f"{path} missing: run `make sam`")
    return str(path)


@pytest.mark.parametrize(
    "cmd",
    [["sam", "validate", "--lint"], ["cfn-lint", "template.yaml"]],
    ids=["sam-validate-lint", "cfn-lint"],
)
def test_template_passes_the_linters(cmd):
    env = {"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([tool(cmd[0]), *cmd[1:]], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def function(template) -> dict[str, Any]:
    return template["Resources"]["ScannerFunction"]["Properties"]


def test_runtime_architecture_and_batch_failures(template):
    glob = template["Globals"]["Function"]
    assert glob["Runtime"] in ("python3.12", "python3.13")
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"
    assert set(template["Parameters"]["Architecture"]["AllowedValues"]) == {"arm64", "x86_64"}
    sqs = function(template)["Events"]["QueuedUploads"]["Properties"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "MaxConcurrency"}
    queue = template["Resources"]["ScanQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"GetAtt": "DeadLetterQueue.Arn"}


def test_policies_are_least_privilege(template):
    for statement in function(template)["Policies"][0]["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, statement
        resources = statement["Resource"]
        for r in resources if isinstance(resources, list) else [resources]:
            assert r != "*", statement


def test_the_trigger_cannot_see_the_verdicts(template):
    res = template["Resources"]
    env = function(template)["Environment"]["Variables"]
    assert env["OUTPUT_BUCKET"] == {"Ref": "OutputBucket"}
    notifications = res["InputBucket"]["Properties"]["NotificationConfiguration"]
    assert "NotificationConfiguration" not in res["OutputBucket"]["Properties"]
    (rule,) = notifications["QueueConfigurations"][0]["Filter"]["S3Key"]["Rules"]
    assert rule == {"Name": "prefix", "Value": {"Ref": "UploadPrefix"}}


def test_buckets_are_private_and_encrypted_and_the_api_needs_iam(template):
    res = template["Resources"]
    for name in ("InputBucket", "OutputBucket"):
        props = res[name]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert res["HttpApi"]["Properties"]["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert {"DeadLetterAlarm", "FunctionErrorAlarm"} <= set(res)
