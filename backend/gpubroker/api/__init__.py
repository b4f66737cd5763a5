"""The one NinjaAPI (`api.v2`) and its project-level routes."""
