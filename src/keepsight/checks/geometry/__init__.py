"""Checks of the `geometry.*` family."""
