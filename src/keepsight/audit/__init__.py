"""The audit: run the checks over a dataset, save the run, and report it (terminal, JSON, HTML)."""
