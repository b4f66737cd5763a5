"""`load_gpu_specs`."""
