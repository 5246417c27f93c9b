"""Street geometry for the importer: where differently named streets meet, and which
street is nearest a point.

A city is small enough to treat as flat: coordinates are projected to metres around
the city's centre (equirectangular; under 0.1% off within 50 km), and segments go into a
uniform grid so that a crossing test or a nearest-street search looks at a few cells, not
every segment of the city (a real extract has tens of thousands).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from dispatch.places.city import LatLong

METRES_PER_DEGREE = 111_320.0
CELL_METRES = 250.0
# A street digitized to end on another without sharing its node still meets it when its
# end is this close (a T-junction drawn a little short or long).
TOUCH_METRES = 3.0


class Flat:
    """Degrees <-> metres around a centre."""

    def __init__(self, centre: LatLong) -> None:
        self.lat0, self.long0 = centre
        self.kx = METRES_PER_DEGREE * math.cos(math.radians(self.lat0))
        self.ky = METRES_PER_DEGREE

    def xy(self, point: LatLong) -> tuple[float, float]:
        return (point[1] - self.long0) * self.kx, (point[0] - self.lat0) * self.ky

    def latlong(self, x: float, y: float) -> LatLong:
        return self.lat0 + y / self.ky, self.long0 + x / self.kx


@dataclass(frozen=True)
class Segment:
    street: int  # index of the street (its name) in the caller's list
    level: int  # 0 on the ground; a bridge's or tunnel's layer otherwise
    x1: float
    y1: float
    x2: float
    y2: float


class SegmentGrid:
    def __init__(self, segments: Sequence[Segment], cell: float = CELL_METRES) -> None:
        self.segments = segments
        self.cell = cell
        self.cells: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, s in enumerate(segments):
            for key in self._cells_of(min(s.x1, s.x2), min(s.y1, s.y2), max(s.x1, s.x2),
                                      max(s.y1, s.y2), pad=TOUCH_METRES):  # fmt: skip
                self.cells[key].append(i)

    def _cells_of(
        self, x1: float, y1: float, x2: float, y2: float, pad: float = 0.0
    ) -> Iterator[tuple[int, int]]:
        c = self.cell
        for cx in range(math.floor((x1 - pad) / c), math.floor((x2 + pad) / c) + 1):
            for cy in range(math.floor((y1 - pad) / c), math.floor((y2 + pad) / c) + 1):
                yield cx, cy

    def crossings(self) -> Iterator[tuple[int, int, float, float]]:
        """(street a, street b, x, y) for every two segments of different streets on the
        same level that cross or touch. A pair sharing several cells is tested once."""
        seen: set[tuple[int, int]] = set()
        for members in self.cells.values():
            for n, i in enumerate(members):
                a = self.segments[i]
                for j in members[n + 1 :]:
                    b = self.segments[j]
                    if a.street == b.street or a.level != b.level:
                        continue
                    key = (i, j) if i < j else (j, i)
                    if key in seen:
                        continue
                    seen.add(key)
                    point = _meet(a, b)
                    if point is not None:
                        yield a.street, b.street, point[0], point[1]

    def nearest(self, x: float, y: float, max_metres: float = 5_000.0) -> tuple[int, float] | None:
        """(street, distance) of the segment nearest (x, y), within max_metres."""
        best: tuple[int, float] | None = None
        reach = self.cell
        while True:
            for key in self._cells_of(x - reach, y - reach, x + reach, y + reach):
                for i in self.cells.get(key, ()):
                    d = _distance(self.segments[i], x, y)
                    if best is None or d < best[1]:
                        best = (self.segments[i].street, d)
            # Every segment within `reach` of the point has been seen: done if one is.
            if best is not None and best[1] <= reach:
                return best
            if reach >= max_metres:
                return best if best is not None and best[1] <= max_metres else None
            reach *= 2


def segments_of(
    street: int, level: int, polyline: Iterable[LatLong], flat: Flat
) -> Iterator[Segment]:
    points = [flat.xy(p) for p in polyline]
    for (x1, y1), (x2, y2) in pairwise(points):
        if (x1, y1) != (x2, y2):
            yield Segment(street, level, x1, y1, x2, y2)


def _meet(a: Segment, b: Segment) -> tuple[float, float] | None:
    """Where two segments cross, or where one's end touches the other (within TOUCH_METRES)."""
    dxa, dya = a.x2 - a.x1, a.y2 - a.y1
    dxb, dyb = b.x2 - b.x1, b.y2 - b.y1
    denominator = dxa * dyb - dya * dxb
    if denominator != 0:
        t = ((b.x1 - a.x1) * dyb - (b.y1 - a.y1) * dxb) / denominator
        u = ((b.x1 - a.x1) * dya - (b.y1 - a.y1) * dxa) / denominator
        # Each segment stretched by TOUCH_METRES at both ends, as a fraction of its length.
        ta = TOUCH_METRES / math.hypot(dxa, dya)
        tb = TOUCH_METRES / math.hypot(dxb, dyb)
        if -ta <= t <= 1 + ta and -tb <= u <= 1 + tb:
            return a.x1 + t * dxa, a.y1 + t * dya
        return None
    # Parallel: they meet only if one ends on the other (a street continuing under a new name).
    for x, y in ((b.x1, b.y1), (b.x2, b.y2)):
        if _distance(a, x, y) <= TOUCH_METRES:
            return x, y
    return None


def _distance(s: Segment, x: float, y: float) -> float:
    dx, dy = s.x2 - s.x1, s.y2 - s.y1
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - s.x1) * dx + (y - s.y1) * dy) / length2))
    return math.hypot(s.x1 + t * dx - x, s.y1 + t * dy - y)
