"""Frozen value types shared by every layer. Purely declarative: no I/O, no third-party imports."""
