"""Every web route of dispatch/, for the app factory: Open311, the JSON API, the staff pages."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api import routers as api_routers
from dispatch.open311.routes import router as open311_router
from dispatch.pages import admin, calls, common, reports, signin, tickets
from dispatch.pages.dutylog import router as dutylog_router
from dispatch.pages.handover import router as handover_router
from dispatch.webhooks.pages import router as webhooks_router

routers: list[APIRouter] = [
    open311_router,
    *api_routers,
    common.router,
    signin.router,
    tickets.router,
    calls.router,
    reports.router,
    dutylog_router,
    handover_router,
    webhooks_router,
    admin.router,
]
