"""Deepfake scanner core: decode, find faces, classify with LiteRT, return one verdict.

The core never imports boto3, Powertools or TensorFlow: the CLI, the Lambda ring and the
converter all call the same `Scanner.scan_bytes`.
"""

__version__ = "0.1.0"
