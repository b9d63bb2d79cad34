"""Browsing contracts: the query service, its schemas and the JSON API."""
