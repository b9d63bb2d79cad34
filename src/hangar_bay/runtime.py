"""What runs beside the web app in one process (in-process ingestion on the embedded default)."""

from __future__ import annotations

from hangar_bay.app import BackgroundHook
from hangar_bay.settings import Settings


def background_hooks(settings: Settings, *, ingest: bool) -> list[BackgroundHook]:
    hooks: list[BackgroundHook] = []
    if ingest:
        # Ingestion and, beside it, alerts: matched after every round of sweeps.
        from hangar_bay.alerts.runner import embedded_hook

        hooks.append(embedded_hook)
    return hooks
