"""Ingestion (F001): region sweeps from ESI into the database, embedded or distributed."""
