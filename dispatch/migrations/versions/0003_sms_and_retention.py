"""SMS consent, rate limits and retention of every copy of a caller's data

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_consent",
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone_number"),
    )
    op.create_index("ix_sms_consent_updated_at", "sms_consent", ["updated_at"])
    # Rate limits count a number's recent sends.
    op.create_index("ix_notification_to_sent", "notification", ["to_number", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_to_sent", table_name="notification")
    op.drop_index("ix_sms_consent_updated_at", table_name="sms_consent")
    op.drop_table("sms_consent")
