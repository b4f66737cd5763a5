"""The Django apps, in layers: gpus and auth_app, providers, recommendations, then the API faces."""
