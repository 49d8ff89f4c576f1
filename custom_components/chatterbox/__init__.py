"""Chatterbox: Home Assistant integration for the Chatterbox voice server."""
