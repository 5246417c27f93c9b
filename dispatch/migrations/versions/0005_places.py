"""The city's places (streets, address points, ranges, intersections, landmarks, aliases)
and a ticket's place match (kind, confidence, verified)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILD_TABLES = (
    "place_street",
    "place_address",
    "place_range",
    "place_intersection",
    "place_landmark",
    "place_alias",
)


def _child(name: str, *columns: sa.Column, constraints: Sequence[sa.Constraint] = ()) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(["city_id"], ["place_city.id"]),
        sa.PrimaryKeyConstraint("id"),
        *constraints,
    )
    op.create_index(f"ix_{name}_city_id", name, ["city_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "place_city",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    _child(
        "place_street",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("normalized", sa.String(length=200), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("highway", sa.String(length=32), nullable=True),
        constraints=[sa.UniqueConstraint("city_id", "name", name="uq_place_street_city_name")],
    )
    _child(
        "place_address",
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("long", sa.Float(), nullable=False),
    )
    _child(
        "place_range",
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    _child(
        "place_intersection",
        sa.Column("street_a", sa.String(length=200), nullable=False),
        sa.Column("street_b", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("long", sa.Float(), nullable=False),
    )
    _child(
        "place_landmark",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("long", sa.Float(), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=True),
    )
    _child(
        "place_alias",
        sa.Column("alias", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("place_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("place_verified", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("place_verified")
        batch_op.drop_column("place_confidence")
        batch_op.drop_column("place_kind")
    for name in reversed(CHILD_TABLES):
        op.drop_index(f"ix_{name}_city_id", table_name=name)
        op.drop_table(name)
    op.drop_table("place_city")
