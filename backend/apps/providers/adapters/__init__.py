"""Framework-free provider adapters: contract, HTTP and parsing helpers, one module each."""
