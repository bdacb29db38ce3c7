"""Checks of the `labels.*` family."""
