"""Checks of the `balance.*` family."""
