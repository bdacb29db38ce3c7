"""Checks of the `split.*` family."""
