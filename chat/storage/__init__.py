"""Storage: the only code that touches SQLite."""
