"""Identity (bottom layer): users (v1), tenants, sessions, tokens, rate limits, audit chain."""
