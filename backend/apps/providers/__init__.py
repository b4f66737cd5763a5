"""The marketplace: providers, offers (v1 tables), price history, adapters, ingestion, listing."""
