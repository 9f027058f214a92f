#!/usr/bin/env bash
# Regenerate the sample events with `sam local generate-event` (SAM CLI from `make sam`).
# The SQS event wraps the S3 notification in a message body, as the deployed path delivers it.
set -euo pipefail
cd "$(dirname "$0")"
SAM=${SAM:-../.venv-sam/bin/sam}
export SAM_CLI_TELEMETRY=0
$SAM local generate-event s3 put --bucket deepfake-input --key "uploads/photo+one.jpg" >s3-put.json
$SAM local generate-event s3 delete --bucket deepfake-input --key "uploads/photo+one.jpg" >s3-delete.json
$SAM local generate-event s3 batch-invocation --bucket-arn arn:aws:s3:::deepfake-input \
  --key "uploads/photo+one.jpg" >s3-batch-invocation.json
# SAM pastes --body into its template unescaped, so the S3 event goes in afterwards.
$SAM local generate-event sqs receive-message --queue-name deepfake-scan >sqs-s3-put.json
python3 - <<'PY'
import json
event = json.load(open("sqs-s3-put.json"))
event["Records"][0]["body"] = json.dumps(json.load(open("s3-put.json")))
json.dump(event, open("sqs-s3-put.json", "w"), indent=2)
PY
$SAM local generate-event apigateway http-api-proxy --method GET --path v1/health >http-health.json
$SAM local generate-event apigateway http-api-proxy --method POST --path v1/uploads \
  --body '{"filename": "clip.mp4", "size": 10485760, "content_type": "video/mp4"}' >http-uploads.json
echo "events written to $(pwd)"
