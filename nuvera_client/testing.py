"""Pytest plugin with Nuvera sandbox fixtures (being written)."""
