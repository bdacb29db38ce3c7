"""Checks of the `anomaly.*` family."""
