"""Tests for Chatterbox."""
