"""The local stack: a moto S3/SQS server, the built function under the Lambda runtime interface
emulator, an SQS event source and an HTTP shim, all on 127.0.0.1. See `python -m local.demo`."""
