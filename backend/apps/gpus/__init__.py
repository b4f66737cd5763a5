"""The GPU catalogue (bottom layer): canonical GPUs, name resolution, specs, per-GPU KPI inputs."""
