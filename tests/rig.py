"""Pytest plugin: the real Matter server and the virtual relay (filled in by issue 5)."""
