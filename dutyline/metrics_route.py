"""GET /metrics: the line's Prometheus series (voice/metrics.py, dispatch/metrics.py).

The process-wide series (calls, latency, tickets...) live in prometheus_client's default
registry; the outbox backlog is counted in this app's database at each scrape, from a
registry of the app's own (tests run several apps in one process, each its own database).
No personal data is exposed; DUTYLINE_METRICS_TOKEN, when set, is required as a bearer
token (see README "Watching it run" for restricting it at the proxy instead).
"""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)

from dispatch.metrics import OutboxBacklog

router = APIRouter(tags=["health"])

# Each series' `_created` twin says when the process first counted it: noise for a dashboard.
disable_created_metrics()


def _app_registry(request: Request) -> CollectorRegistry:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(OutboxBacklog(request.app.state.services.dispatch.engine))
        request.app.state.metrics_registry = registry
    return registry


def _allowed(request: Request) -> bool:
    token = request.app.state.services.settings.metrics_token
    if token is None:
        return True
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.get_secret_value().encode()
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    if not _allowed(request):
        return Response(
            "a metrics token is required", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    own = _app_registry(request)
    # The backlog is a database query: off the event loop that carries live audio.
    body = generate_latest(REGISTRY) + await asyncio.to_thread(generate_latest, own)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
