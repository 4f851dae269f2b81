"""Replies through the outbox, and inbound messages that could not be answered set aside.

Every reply is an outbox row written in the transaction that marks its message processed, so a
crash between the commit and the send loses nothing. ``render`` keeps what the channel needs
beyond text and choices, as it was when the reply was made (the "reply with a number" hint in
the language of that moment, a share-my-number button). An inbound message counts its failed
answers; after a few it is set aside (``failed_at``, ``error``) instead of failing at every
start.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("render", sa.JSON(), nullable=True))
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("error", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("error")
        batch.drop_column("failed_at")
        batch.drop_column("attempts")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("render")
