"""Market tests reuse the ingestion fixtures (a tiny simulator on a manual clock)."""

from tests.contracts.conftest import universe
from tests.ingest.conftest import ingest_settings, sim

__all__ = ["ingest_settings", "sim", "universe"]
