"""Assist pipelines in Home Assistant using the Chatterbox integration and the real server."""
