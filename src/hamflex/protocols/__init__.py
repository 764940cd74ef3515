"""Protocols: pure state machines fed per-frame angles (the 90-90 test, stretch holds)."""
