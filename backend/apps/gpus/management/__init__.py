"""Management commands of the GPU catalogue."""
