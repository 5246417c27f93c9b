"""The JSON API for people and scripts, under /api (Authorization: Bearer <token>)."""

from dispatch.api.calls import router as calls_router
from dispatch.api.handover import router as handover_router
from dispatch.api.staff import router as staff_router
from dispatch.api.tickets import router as tickets_router

routers = [tickets_router, calls_router, staff_router, handover_router]
