"""Checks of the `image.*` family."""
