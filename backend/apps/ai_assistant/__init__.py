"""The AI assistant (wave 2): for now only `/ai/health`."""
