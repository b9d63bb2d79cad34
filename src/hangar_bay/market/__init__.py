"""Market prices, contract value and flags (F010), and ship price history (F011)."""
