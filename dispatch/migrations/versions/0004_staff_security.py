"""Staff security: sign-in throttle shared by every process

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signin_failure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signin_failure_scope_key", ["scope", "key", "failed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_signin_failure_failed_at"), ["failed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signin_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_failure_failed_at"))
        batch_op.drop_index("ix_signin_failure_scope_key")
    op.drop_table("signin_failure")
