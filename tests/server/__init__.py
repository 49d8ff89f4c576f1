"""Tests of the Chatterbox server (the real server in a subprocess, and its parts)."""
