"""KPIs over the market: aggregates over offers, sync runs and price history (read only)."""
