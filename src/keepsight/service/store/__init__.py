"""The service's SQL: one module per area, functions taking a Connection (callers own the transaction)."""
