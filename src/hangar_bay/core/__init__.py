"""Cross-cutting plumbing shared by every domain: logging, errors, cache, database, metrics."""
