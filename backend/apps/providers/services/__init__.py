"""Provider services: ingestion (`sync`), integrations and bookings."""
