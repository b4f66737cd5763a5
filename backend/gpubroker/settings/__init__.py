"""Settings: base (complete), development, production (hardening), test (speed)."""
