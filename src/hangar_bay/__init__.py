"""Hangar Bay: find ships for sale on EVE Online public contracts."""

__version__ = "0.1.0"
