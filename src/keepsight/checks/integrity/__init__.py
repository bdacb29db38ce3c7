"""Checks of the `integrity.*` family."""
