"""Checks of the `diversity.*` family."""
