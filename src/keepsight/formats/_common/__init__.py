"""Helpers several format adapters share: XML and JSON reading, text lines and numbers,
image look-up by name, and export file naming. Formats import from here, never from
another format's folder."""
