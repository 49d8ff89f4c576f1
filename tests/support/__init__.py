"""Helpers shared by the test suites: the real server as a subprocess and a Wyoming client."""
