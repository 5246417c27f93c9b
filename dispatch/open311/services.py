"""Open311 services: one per complaint kind in data/complaint_kinds.yaml.

A kind's slots become the service definition's attributes, in the order the
phone line asks them. They are optional for partner apps: a report missing a
detail is still filed (an officer can ask), never refused.
"""

from __future__ import annotations

from typing import Any

from dispatch.kinds import ComplaintKind


def service(kind: ComplaintKind) -> dict[str, Any]:
    return {
        "service_code": kind.code,
        "service_name": kind.name,
        "description": kind.description or None,
        "metadata": bool(kind.slots),
        "type": "realtime",
        "keywords": ", ".join(kind.keywords) or None,
        "group": kind.department,
    }


def service_definition(kind: ComplaintKind) -> dict[str, Any]:
    attributes = [
        {
            "variable": True,
            "code": slot.code,
            "datatype": "string",
            "required": False,
            "datatype_description": slot.label,
            "order": order,
            "description": slot.question,
        }
        for order, slot in enumerate(kind.slots, start=1)
    ]
    return {"service_code": kind.code, "attributes": attributes}
