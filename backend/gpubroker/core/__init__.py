"""Cross-cutting code: errors, middleware, logging, health, metrics, events. Imports no app."""
