from tests.contracts.conftest import market, universe

__all__ = ["market", "universe"]
