"""Tests for the custom components."""
