"""The city's places in the database (migration 0005). Every row is keyed by its city, so
one database can hold several cities and replacing one touches no other.

Geometry is JSON (a list of polylines of [lat, long]) rather than PostGIS: both SQLite
and PostgreSQL store it, and the geocoder indexes it in memory after loading anyway.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from dispatch.models import UtcDateTime, utcnow


class PlaceCity(SQLModel, table=True):
    __tablename__ = "place_city"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    # Bumped by every import: a running app compares it to the one it loaded (one
    # indexed row read) to notice new data without reloading the city.
    generation: int = 0
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sources: list[str] = Field(default_factory=list, sa_type=JSON)  # file names imported


class PlaceStreet(SQLModel, table=True):
    __tablename__ = "place_street"
    __table_args__ = (sa.UniqueConstraint("city_id", "name", name="uq_place_street_city_name"),)

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="place_city.id", index=True)
    name: str = Field(max_length=200)
    normalized: str = Field(max_length=200)
    # [[[lat, long], ...], ...]: one polyline per OSM way of the street.
    geometry: list[list[list[float]]] = Field(default_factory=list, sa_type=JSON)
    ref: str | None = Field(default=None, max_length=64)
    highway: str | None = Field(default=None, max_length=32)


class PlaceAddress(SQLModel, table=True):
    __tablename__ = "place_address"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="place_city.id", index=True)
    street: str = Field(max_length=200)
    number: str = Field(max_length=32)
    unit: str | None = Field(default=None, max_length=32)
    lat: float
    long: float


class PlaceRange(SQLModel, table=True):
    __tablename__ = "place_range"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="place_city.id", index=True)
    street: str = Field(max_length=200)
    low: int
    high: int
    count: int


class PlaceIntersection(SQLModel, table=True):
    __tablename__ = "place_intersection"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="place_city.id", index=True)
    street_a: str = Field(max_length=200)  # street_a < street_b
    street_b: str = Field(max_length=200)
    lat: float
    long: float


class PlaceLandmark(SQLModel, table=True):
    __tablename__ = "place_landmark"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="place_city.id", index=True)
    name: str = Field(max_length=200)
    category: str = Field(max_length=64)
    lat: float
    long: float
    street: str | None = Field(default=None, max_length=200)
    number: str | None = Field(default=None, max_length=32)


class PlaceAlias(SQLModel, table=True):
    __tablename__ = "place_alias"

    id: int | None = Field(default=None, primary_key=True)
    city_id: int = Field(foreign_key="place_city.id", index=True)
    alias: str = Field(max_length=200)
    target: str = Field(max_length=200)


# Children of a city, in the order they are replaced.
CITY_ROWS = (PlaceStreet, PlaceAddress, PlaceRange, PlaceIntersection, PlaceLandmark, PlaceAlias)
