"""Smoke tests against a real Home Assistant process (not the pytest harness)."""
