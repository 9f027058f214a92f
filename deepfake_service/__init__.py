"""The serverless ring around the core: settings, S3 storage, event parsing, HTTP routes.

`deepfake_scanner` (the core) never imports boto3 or Powertools; this package is where they live.
`handler.py` at the project root wires it to Lambda.
"""
