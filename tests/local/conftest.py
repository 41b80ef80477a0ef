"""Fixtures for local-mode tests."""
