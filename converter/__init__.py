"""Training, conversion and parity: everything that needs TensorFlow lives here."""
