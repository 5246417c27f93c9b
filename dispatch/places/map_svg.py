"""A small map of where a ticket is, drawn on the server from the city's own streets.

No tiles and nothing fetched: the streets the city imported (dispatch/places/city.py)
within a few hundred metres of the point, as lines, with their names along them, the
point marked and a scale bar. The markup is inline SVG for the staff pages: no style
attribute and no URL (the pages' Content-Security-Policy allows neither inline styles
nor other sites), so every look is a class in dispatch/pages/static/dutyline.css.

`StreetMap` indexes a city's street segments once in a grid of square cells in local
metres (an equirectangular projection about the city's middle: off by well under 1%
over a city's extent, far less than a line's width on a 500 m map), so a map costs a
few cells' segments, not the whole city's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from itertools import pairwise
from threading import Lock

from dispatch.places.city import CityPlaces, Street

METRES_PER_DEGREE = 6_371_000.0 * math.pi / 180  # the same sphere as the haversine
CELL_M = 200.0
# OSM highway classes drawn wider: the roads an officer steers by.
MAJOR = frozenset({"motorway", "trunk", "primary", "secondary", "tertiary"})
MINOR = frozenset({"path", "footway", "cycleway", "track", "service", "pedestrian", "steps"})
SCALE_STEPS = (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000)
FONT_PX = {"map": 12.0, "thumb": 10.0}  # as dutyline.css sizes .street-name

XY = tuple[float, float]


@dataclass(frozen=True)
class _Segment:
    street: int  # index into StreetMap._streets
    a: XY
    b: XY


@dataclass(frozen=True)
class NearStreet:
    """One street as it shows on a map: its pieces inside the view, in view metres
    (x east, y north, the point at 0,0), and how far it passes from the point."""

    name: str
    highway: str | None
    lines: tuple[tuple[XY, ...], ...]
    distance_m: float


class StreetMap:
    """The city's streets indexed for maps around a point. `svg(...)` is `draw(...)`
    remembered for the last 2048 maps (the inbox asks for the same ones at every poll)."""

    def __init__(self, streets: Iterable[Street]) -> None:
        self._streets = list(streets)
        points = [p for s in self._streets for way in s.ways for p in way]
        if points:
            self._lat0 = sum(p[0] for p in points) / len(points)
            self._long0 = sum(p[1] for p in points) / len(points)
        else:
            self._lat0 = self._long0 = 0.0
        self._kx = METRES_PER_DEGREE * math.cos(math.radians(self._lat0))
        self._cells: dict[tuple[int, int], list[_Segment]] = defaultdict(list)
        for index, street in enumerate(self._streets):
            for way in street.ways:
                xy = [self._xy(lat, long) for lat, long in way]
                for a, b in pairwise(xy):
                    segment = _Segment(index, a, b)
                    for cell in _cells_under(a, b):
                        self._cells[cell].append(segment)

        # An inbox redraws every row's map at each poll: the same points, the same maps.
        self.svg = lru_cache(maxsize=2048)(self.draw)

    def __len__(self) -> int:
        return len(self._streets)

    def _xy(self, lat: float, long: float) -> XY:
        return ((long - self._long0) * self._kx, (lat - self._lat0) * METRES_PER_DEGREE)

    def streets_near(
        self, lat: float, long: float, half_width_m: float, half_height_m: float | None = None
    ) -> list[NearStreet]:
        """The streets crossing the box around the point, nearest first."""
        half_height_m = half_width_m if half_height_m is None else half_height_m
        cx, cy = self._xy(lat, long)
        box = (-half_width_m, -half_height_m, half_width_m, half_height_m)
        seen: set[_Segment] = set()
        pieces: dict[int, list[tuple[XY, XY]]] = defaultdict(list)
        nearest: dict[int, float] = {}
        x0, y0 = _cell(cx - half_width_m, cy - half_height_m)
        x1, y1 = _cell(cx + half_width_m, cy + half_height_m)
        for gx in range(x0, x1 + 1):
            for gy in range(y0, y1 + 1):
                for segment in self._cells.get((gx, gy), ()):
                    if segment in seen:
                        continue
                    seen.add(segment)
                    a = (segment.a[0] - cx, segment.a[1] - cy)
                    b = (segment.b[0] - cx, segment.b[1] - cy)
                    clipped = _clip(a, b, box)
                    if clipped is None:
                        continue
                    pieces[segment.street].append(clipped)
                    gap = _distance_to_segment(a, b)
                    nearest[segment.street] = min(nearest.get(segment.street, gap), gap)
        found = [
            NearStreet(
                name=self._streets[index].name,
                highway=self._streets[index].highway,
                lines=_join(parts),
                distance_m=nearest[index],
            )
            for index, parts in pieces.items()
        ]
        return sorted(found, key=lambda street: (street.distance_m, street.name))

    def draw(
        self,
        lat: float,
        long: float,
        *,
        title: str,
        width: int = 480,
        height: int = 300,
        radius_m: float = 250.0,
        approximate: bool = False,
        labels: int | None = None,
        size: str = "map",
    ) -> str:
        """The map as inline SVG markup (escaped here; templates embed it as is).

        `radius_m` is the half-width shown; `approximate` rings the point instead of
        pinning it (a street or block: somewhere along it); `labels` names at most that
        many streets, nearest first; `size` is the CSS class ("map" or "thumb")."""
        scale = width / (2 * radius_m)  # pixels per metre
        half_h = height / 2 / scale
        streets = self.streets_near(lat, long, radius_m, half_h)
        cx, cy = width / 2, height / 2

        def px(point: XY) -> str:
            return f"{cx + point[0] * scale:.1f},{cy - point[1] * scale:.1f}"

        parts = [
            f'<svg class="place-map {size}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
            f"<title>{escape(title)}</title>",
            f'<rect class="ground" width="{width}" height="{height}"/>',
        ]
        for street in reversed(streets):  # nearest drawn last, on top
            kind = _street_class(street.highway)
            for line in street.lines:
                points = " ".join(px(p) for p in line)
                parts.append(f'<polyline class="street {kind}" points="{points}"/>')
        marker = _Box(cx - 7, cy - 7, cx + 7, cy + 7)
        placed: list[_Box] = [marker]
        font = FONT_PX.get(size, FONT_PX["map"])
        named = 0
        for street in streets:
            if labels is not None and named >= labels:
                break
            label = _place_label(street, scale, (cx, cy), font, placed, (width, height))
            if label is None:
                continue
            named += 1
            x, y, angle = label
            parts.append(
                f'<text class="street-name" x="{x:.1f}" y="{y:.1f}" text-anchor="middle" '
                f'dominant-baseline="central" transform="rotate({angle:.1f} {x:.1f} {y:.1f})">'
                f"{escape(street.name)}</text>"
            )
        if approximate:
            parts.append(f'<circle class="point-area" cx="{cx}" cy="{cy}" r="{18 * scale:.1f}"/>')
        parts.append(f'<circle class="point" cx="{cx}" cy="{cy}" r="6"/>')
        parts.append(_scale_bar(scale, width, height))
        if not streets:
            parts.append(
                f'<text class="map-note" x="{cx}" y="{height - 8}" text-anchor="middle">'
                "No street of the city's map near this point</text>"
            )
        parts.append("</svg>")
        return "".join(parts)


_lock = Lock()
_built: tuple[CityPlaces, StreetMap] | None = None


def street_map(city: CityPlaces) -> StreetMap:
    """The index of this city's streets, built once per loaded city (a re-import that
    loads a new CityPlaces gets a new index)."""
    global _built
    with _lock:
        if _built is None or _built[0] is not city:
            _built = (city, StreetMap(city.streets))
        return _built[1]


# --- geometry ------------------------------------------------------------------------


def _cell(x: float, y: float) -> tuple[int, int]:
    return math.floor(x / CELL_M), math.floor(y / CELL_M)


def _cells_under(a: XY, b: XY) -> Iterable[tuple[int, int]]:
    """The grid cells a segment crosses: those of its bounding box that it cuts (OSM
    segments are short, so that box is a cell or two; a long straight one is a row)."""
    x0, y0 = _cell(min(a[0], b[0]), min(a[1], b[1]))
    x1, y1 = _cell(max(a[0], b[0]), max(a[1], b[1]))
    if x0 == x1 or y0 == y1:
        return [(gx, gy) for gx in range(x0, x1 + 1) for gy in range(y0, y1 + 1)]
    return [
        (gx, gy)
        for gx in range(x0, x1 + 1)
        for gy in range(y0, y1 + 1)
        if _clip(a, b, (gx * CELL_M, gy * CELL_M, (gx + 1) * CELL_M, (gy + 1) * CELL_M))
    ]


def _clip(a: XY, b: XY, box: tuple[float, float, float, float]) -> tuple[XY, XY] | None:
    """Liang-Barsky: the part of segment a-b inside the box, or None."""
    xmin, ymin, xmax, ymax = box
    dx, dy = b[0] - a[0], b[1] - a[1]
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, a[0] - xmin), (dx, xmax - a[0]), (-dy, a[1] - ymin), (dy, ymax - a[1])):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return (a[0] + t0 * dx, a[1] + t0 * dy), (a[0] + t1 * dx, a[1] + t1 * dy)


def _distance_to_segment(a: XY, b: XY) -> float:
    """From the origin (the map's point) to segment a-b, metres."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(a[0] * dx + a[1] * dy) / length2))
    return math.hypot(a[0] + t * dx, a[1] + t * dy)


def _join(parts: Sequence[tuple[XY, XY]]) -> tuple[tuple[XY, ...], ...]:
    """Clipped segments back into polylines where one ends where the next starts."""
    lines: list[list[XY]] = []
    for a, b in parts:
        if lines and math.dist(lines[-1][-1], a) < 0.01:
            lines[-1].append(b)
        else:
            lines.append([a, b])
    return tuple(tuple(line) for line in lines)


def _street_class(highway: str | None) -> str:
    if highway in MAJOR:
        return "major"
    return "minor" if highway in MINOR else "local"


# --- labels and the scale bar ----------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: _Box) -> bool:
        return not (
            self.x1 < other.x0 or other.x1 < self.x0 or self.y1 < other.y0 or other.y1 < self.y0
        )


# Where along a piece of street a name may go, best first: a third of the way in from
# either end (clear of the point, which is often in the middle), then anywhere.
_ALONG = sorted((i / 40 for i in range(2, 39)), key=lambda t: min(abs(t - 0.3), abs(t - 0.7)))


def _place_label(
    street: NearStreet,
    scale: float,
    centre: XY,
    font: float,
    placed: list[_Box],
    size: tuple[int, int],
) -> tuple[float, float, float] | None:
    """Where a street's name goes: along its longest piece in view, upright, clear of
    the point and of the names already placed (tried at several places along it)."""
    text_w = len(street.name) * font * 0.56 + 4
    text_h = font + 2
    pieces = sorted(
        (
            (a, b)
            for line in street.lines
            for a, b in pairwise(line)
            if math.dist(a, b) * scale > text_w + 8
        ),
        key=lambda ab: -math.dist(*ab),
    )
    for a, b in pieces:
        ax, ay = centre[0] + a[0] * scale, centre[1] - a[1] * scale
        bx, by = centre[0] + b[0] * scale, centre[1] - b[1] * scale
        angle = math.degrees(math.atan2(by - ay, bx - ax))
        if angle > 90:
            angle -= 180
        elif angle <= -90:
            angle += 180
        cos, sin = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
        half_w = (text_w * cos + text_h * sin) / 2
        half_h = (text_w * sin + text_h * cos) / 2
        for t in _ALONG:
            x, y = ax + (bx - ax) * t, ay + (by - ay) * t
            box = _Box(x - half_w, y - half_h, x + half_w, y + half_h)
            inside = box.x0 >= 0 and box.y0 >= 0 and box.x1 <= size[0] and box.y1 <= size[1]
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                return x, y, angle
    return None


def _scale_bar(scale: float, width: int, height: int) -> str:
    """A bar of a round number of metres, about a fifth of the map wide."""
    metres = max((s for s in SCALE_STEPS if s * scale <= width / 5), default=SCALE_STEPS[0])
    length = metres * scale
    x, y = 10.0, height - 12.0
    label = f"{metres} m" if metres < 1000 else f"{metres / 1000:g} km"
    return (
        f'<g class="scale"><rect class="scale-back" x="{x - 4}" y="{y - 16}" '
        f'width="{length + 8:.1f}" height="22"/>'
        f'<path class="scale-bar" d="M{x},{y - 4} V{y} H{x + length:.1f} V{y - 4}"/>'
        f'<text class="scale-label" x="{x + length / 2:.1f}" y="{y - 6}" '
        f'text-anchor="middle">{label}</text></g>'
    )
