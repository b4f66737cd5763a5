"""The price stream (`/ws/`): consumers, the per-process Redis relay, filters and frames."""
