"""``GET /metrics``: the process's metrics in the Prometheus text format (``OTEL_METRICS_EXPORTER=prometheus``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Response

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:  # sync: collection runs in the thread pool, off the event loop
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
