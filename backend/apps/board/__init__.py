"""The live market board: the HTML page at `/` (top layer; reads providers, gpus and math)."""
