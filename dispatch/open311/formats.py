"""GeoReport v2 wire formats: the same data as JSON or as the spec's XML.

Every Open311 answer is built as plain dicts/lists first; `render` turns it
into the format the client asked for with the `.json` / `.xml` suffix.
The XML element names (services/service, service_requests/request, ...) are
the spec's; list items take the singular name given by `ITEM_NAMES`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Literal

from fastapi import Response
from fastapi.responses import JSONResponse

Format = Literal["json", "xml"]

XML_MEDIA_TYPE = "text/xml; charset=utf-8"

# The XML name of one item inside a list element.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


class Open311Error(Exception):
    """An error answered in the spec's format: a list of {code, description}."""

    def __init__(self, status_code: int, description: str) -> None:
        super().__init__(description)
        self.status_code = status_code
        self.description = description


def split_format(name: str) -> tuple[str, Format]:
    """'requests.xml' -> ('requests', 'xml'); no suffix means JSON."""
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in ("json", "xml"):
        return stem, suffix  # type: ignore[return-value]
    if dot and suffix:
        raise Open311Error(400, f"Unsupported format '.{suffix}': use .json or .xml")
    return name, "json"


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        item_tag = ITEM_NAMES.get(tag, "item")
        for item in value:
            _append(element, item_tag, item)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, data: Any) -> bytes:
    """Build the XML document whose root element is `root`."""
    holder = ET.Element("holder")
    _append(holder, root, data)
    return ET.tostring(holder[0], encoding="utf-8", xml_declaration=True)


def render(data: Any, fmt: Format, *, xml_root: str, status_code: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(xml_root, data), status_code, media_type=XML_MEDIA_TYPE)
    return JSONResponse(data, status_code)


def render_error(error: Open311Error, fmt: Format) -> Response:
    body = [{"code": error.status_code, "description": error.description}]
    return render(body, fmt, xml_root="errors", status_code=error.status_code)
