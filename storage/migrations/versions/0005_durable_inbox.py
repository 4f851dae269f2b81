"""Durable inbox: inbound messages keep their content until processed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))
    # Messages recorded before this revision were processed when they arrived.
    op.execute("UPDATE inbound_message SET processed_at = received_at")
    op.create_index("ix_inbound_message_processed_at", "inbound_message", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_message_processed_at", "inbound_message")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("processed_at")
        batch.drop_column("payload")
