"""Services of the math endpoints, one module per entry point: costs, ranking, workload."""
