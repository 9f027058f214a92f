"""Lambda's SQS event source, emulated: receive a batch, invoke, delete what succeeded.

What it copies from the real event source mapping: batches of up to `batch_size`, the event
shape Lambda sends (messageId, receiptHandle, body, attributes with ApproximateReceiveCount,
eventSourceARN), partial batch responses (`batchItemFailures`: only those stay on the queue),
a failed invocation leaving the whole batch on the queue, and redelivery after the visibility
timeout. The queue's own redrive policy (moto implements it) moves a message to the
dead-letter queue after maxReceiveCount receives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .moto import REGION

Invoke = Callable[[dict[str, Any]], Any]


def lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda sends for a batch of messages from ReceiveMessage."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def failed_ids(result: Any) -> set[str] | None:
    """Message ids the function reported as failed; None when the whole invocation failed."""
    if not isinstance(result, dict) or "errorMessage" in result or "errorType" in result:
        return None
    return {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}


def poll_once(
    sqs: Any, queue_url: str, queue_arn: str, invoke: Invoke, batch_size: int = 10, wait_s: int = 1
) -> tuple[int, int]:
    """One receive + invoke + delete round. Returns (messages received, messages deleted)."""
    r = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=batch_size,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=wait_s,
    )
    messages = r.get("Messages", [])
    if not messages:
        return 0, 0
    failed = failed_ids(invoke(lambda_event(messages, queue_arn)))
    if failed is None:  # the invocation failed: every message comes back after the timeout
        return len(messages), 0
    done = [m for m in messages if m["MessageId"] not in failed]
    for i in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]}
                for k, m in enumerate(done[i : i + 10])
            ],
        )
    return len(messages), len(done)
