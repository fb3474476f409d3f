"""Read-only cluster probes. Nothing in this package may create, patch, update or delete."""
