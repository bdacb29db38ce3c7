"""Checks of the `position.*` family."""
