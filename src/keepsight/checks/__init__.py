"""The audit's checks: one check = one file = one class (see base.py and registry.py)."""
