"""GET /healthz (= /readyz) and /livez: what a load balancer and a duty engineer need to know."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/livez", include_in_schema=False)
async def livez() -> JSONResponse:
    """Liveness: the process answers. Checks nothing else, so a database or Rasa outage
    never gets a healthy replica restarted."""
    return JSONResponse({"status": "ok"})


# Readiness: /readyz is /healthz (the older name, kept): database, Rasa and models ready,
# 503 otherwise, so the load balancer sends no calls to a replica that cannot take them.
@router.get("/readyz", include_in_schema=False)
@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    services = request.app.state.services
    database_problem, rasa_ready = await asyncio.gather(
        asyncio.to_thread(services.dispatch.health), services.dialogue.ready()
    )
    models: dict[str, str] = services.speech.status()
    problems: list[str] = []
    if database_problem:
        problems.append(f"database: {database_problem}")
    if not rasa_ready:
        # Every locale's servers must be (issue 14): name them all.
        where = getattr(services.dialogue, "urls", None) or services.settings.rasa_url
        problems.append(f"dialogue server not ready at {where}")
    problems += [f"model {name}: {state}" for name, state in models.items() if state != "loaded"]
    prompts_ready = services.speech.prompts_ready
    if not prompts_ready:  # a call now would wait on Piper for every fixed sentence
        problems.append("fixed prompts are being made")
    body = {
        "status": "ok" if not problems else "unavailable",
        "database": database_problem or "ok",
        "rasa": "ok" if rasa_ready else "not ready",
        "models": models,
        "prompts": "ok" if prompts_ready else "being made",
        "problems": problems,
    }
    return JSONResponse(body, status_code=200 if not problems else 503)
