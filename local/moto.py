"""A real S3 + SQS server (moto) on 127.0.0.1, and the resources the SAM template creates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

from .net import HOST, free_port, wait_http

REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {  # nosec B105: moto's dummy credentials, never real ones
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105
    "AWS_SESSION_TOKEN": "testing",  # nosec B105
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class MotoServer:
    """`moto_server` on a free loopback port; a context manager that always stops it."""

    def __init__(self, port: int | None = None, log: Path | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://{HOST}:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [exe, "-H", HOST, "-p", str(self.port)], stdout=out, stderr=subprocess.STDOUT
        )
        wait_http(self.endpoint + "/moto-api/", proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def env(self) -> dict[str, str]:
        """What a process needs to talk to this server with boto3."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # nosec B106: moto's dummy credentials
        )

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Stack:
    input_bucket: str
    output_bucket: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    upload_prefix: str
    max_receive_count: int
    visibility_timeout_s: int

    def function_env(self) -> dict[str, str]:
        """The function's environment, as template.yaml sets it."""
        return {
            "INPUT_BUCKET": self.input_bucket,
            "OUTPUT_BUCKET": self.output_bucket,
            "OUTPUT_PREFIX": "verdicts/",
            "UPLOAD_PREFIX": self.upload_prefix,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            "MAX_RECEIVE_COUNT": str(self.max_receive_count),
            "POWERTOOLS_SERVICE_NAME": "deepfake-scanner",
            "POWERTOOLS_METRICS_NAMESPACE": "DeepfakeScanner",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def create_stack(
    server: MotoServer,
    name: str = "deepfake",
    upload_prefix: str = "uploads/",
    max_receive_count: int = 3,
    visibility_timeout_s: int = 30,
) -> Stack:
    """Input bucket -> (ObjectCreated under the prefix) -> queue -> (redrive) -> dead-letter
    queue, and a separate output bucket: the same shape as template.yaml."""
    s3, sqs = server.client("s3"), server.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": str(max_receive_count),
    }
    queue_url = sqs.create_queue(
        QueueName=f"{name}-scan",
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_s),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    queue_arn = queue_arn["Attributes"]["QueueArn"]
    input_bucket, output_bucket = f"{name}-input", f"{name}-verdicts"
    s3.create_bucket(Bucket=input_bucket)
    s3.create_bucket(Bucket=output_bucket)
    s3.put_bucket_notification_configuration(
        Bucket=input_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": upload_prefix}]}
                    },
                }
            ]
        },
    )
    return Stack(
        input_bucket=input_bucket,
        output_bucket=output_bucket,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dlq_url,
        upload_prefix=upload_prefix,
        max_receive_count=max_receive_count,
        visibility_timeout_s=visibility_timeout_s,
    )


def take_dead_letters(sqs: Any, stack: Stack) -> list[dict[str, Any]]:
    """Every dead-letter record waiting now, removed from the queue (the demo and the load
    test account for each one exactly once)."""
    taken: list[dict[str, Any]] = []
    while True:
        r = sqs.receive_message(
            QueueUrl=stack.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        if not r.get("Messages"):
            return taken
        for m in r["Messages"]:
            taken.append(json.loads(m["Body"]))
            sqs.delete_message(
                QueueUrl=stack.dead_letter_queue_url, ReceiptHandle=m["ReceiptHandle"]
            )


def apply_env(env: dict[str, str]) -> None:
    os.environ.update(env)
