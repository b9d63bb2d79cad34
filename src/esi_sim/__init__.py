"""A deterministic stand-in for ESI and EVE SSO, for tests, demos and benchmarks."""
