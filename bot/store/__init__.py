"""The store: SQLite through sqlite-utils, with numbered migrations applied at start. An append-only
record of answered pastes (redacted), feedback and probe runs; the only package that imports
sqlite_utils (an import-linter contract)."""
