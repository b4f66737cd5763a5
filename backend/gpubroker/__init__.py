"""The Django project: settings, the API, ASGI routing, cross-cutting core, the embedded servers."""
