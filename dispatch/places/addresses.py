"""Address points from OpenAddresses-style CSV (`LON,LAT,NUMBER,STREET,UNIT,...`), plain
or gzip-compressed. A city's own address register exported to those columns reads too.

A row that cannot be a point (no number, no street, coordinates that are not numbers
or not on Earth) is skipped and counted, with the first few reasons kept for the import
report; a file without the columns is refused as a whole with a clear error.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.places.city import AddressPoint

REQUIRED = ("LON", "LAT", "NUMBER", "STREET")
CSV_SUFFIXES = (".csv", ".csv.gz")
GZIP_MAGIC = b"\x1f\x8b"
PROBLEMS_KEPT = 10


class AddressFormatError(ValueError):
    """The file is not OpenAddresses CSV."""


@dataclass
class AddressRead:
    points: list[AddressPoint] = field(default_factory=list)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, "file:line: why"


def is_address_file(path: Path) -> bool:
    return path.name.lower().endswith(CSV_SUFFIXES)


def read_addresses(path: Path) -> AddressRead:
    path = Path(path)
    if not path.is_file():
        raise AddressFormatError(f"{path}: no such file")
    result = AddressRead()
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            columns = _columns(path, header)
            for row in reader:
                point, problem = _point(row, columns)
                if point is not None:
                    result.points.append(point)
                    continue
                result.skipped += 1
                if len(result.problems) < PROBLEMS_KEPT:
                    result.problems.append(f"{path.name}:{reader.line_num}: {problem}")
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, csv.Error) as exc:
        raise AddressFormatError(
            f"{path}: not an OpenAddresses CSV (UTF-8 text, plain or .gz): {exc}"
        ) from exc
    return result


@contextmanager
def _open_text(path: Path) -> Iterator[io.TextIOWrapper]:
    # By content, not by name: a .csv that is really gzip (or the reverse) still reads.
    with path.open("rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    with gzip.open(path, "rb") if compressed else path.open("rb") as binary:
        # utf-8-sig: spreadsheet exports start with a byte-order mark.
        yield io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _columns(path: Path, header: list[str] | None) -> tuple[int, int, int, int, int | None]:
    """The positions of LON, LAT, NUMBER, STREET and UNIT (optional), by name."""
    if not header:
        raise AddressFormatError(f"{path}: empty file, expected a header {','.join(REQUIRED)}")
    index = {name.strip().upper(): i for i, name in enumerate(header)}
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        shown = ",".join(header[:8])[:120]
        raise AddressFormatError(
            f"{path}: not an OpenAddresses CSV: no column {', '.join(missing)} "
            f"(expected {','.join(REQUIRED)},UNIT,...; the header is {shown!r})"
        )
    return index["LON"], index["LAT"], index["NUMBER"], index["STREET"], index.get("UNIT")


def _point(
    row: list[str], columns: tuple[int, int, int, int, int | None]
) -> tuple[AddressPoint | None, str]:
    lon_at, lat_at, number_at, street_at, unit_at = columns
    width = len(row)
    if width <= max(lon_at, lat_at, number_at, street_at):
        return None, f"{width} columns, fewer than the header's"
    number, street = row[number_at].strip(), " ".join(row[street_at].split())
    if not number:
        return None, "no NUMBER"
    if not street:
        return None, "no STREET"
    try:
        long, lat = float(row[lon_at]), float(row[lat_at])
    except ValueError:
        return None, f"LON/LAT not numbers: {row[lon_at]!r}, {row[lat_at]!r}"
    if not (
        math.isfinite(lat) and math.isfinite(long) and -90 <= lat <= 90 and -180 <= long <= 180
    ):
        return None, f"LON/LAT out of range: {long}, {lat}"
    unit = (row[unit_at].strip() or None) if unit_at is not None and unit_at < width else None
    # Positional: 39,000 points a city, keyword arguments cost a third more.
    return AddressPoint(number, street, lat, long, unit), ""
