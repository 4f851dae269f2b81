"""Broadcasts, media to send on, sender heartbeats; outbox and member columns for sending.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("community.id"), nullable=False),
        sa.Column("source_channel", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=1000), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("telegram_file_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token", name="uq_media_token"),
    )
    op.create_index("ix_media_community_id", "media", ["community_id"])

    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("community.id"), nullable=False),
        sa.Column("author_member_id", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("author_identity_id", sa.Integer(), sa.ForeignKey("identity.id"), nullable=True),
        sa.Column("author_label", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_id", sa.Integer(), sa.ForeignKey("media.id"), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_progress_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_broadcast_community_id", "broadcast", ["community_id"])
    op.create_index("ix_broadcast_status", "broadcast", ["status"])

    op.create_table(
        "outbox_worker",
        sa.Column("name", sa.String(length=100), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbox_worker_seen_at", "outbox_worker", ["seen_at"])

    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column(
                "broadcast_id",
                sa.Integer(),
                sa.ForeignKey("broadcast.id", name="fk_outbox_broadcast"),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch.create_index("ix_outbox_broadcast_id", ["broadcast_id"])
        # The sender's claim asks, for each due row, whether an earlier message to the same
        # recipient is still unfinished: these keep that a probe (PostgreSQL otherwise mixes in
        # the low-selectivity status index and a claim of 500 rows takes seconds).
        batch.create_index("ix_outbox_member_status", ["member_id", "status"])
        batch.create_index("ix_outbox_identity_status", ["identity_id", "status"])

    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("channel_preference", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("channel_preference")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_identity_status")
        batch.drop_index("ix_outbox_member_status")
        batch.drop_index("ix_outbox_broadcast_id")
        batch.drop_column("reason")
        batch.drop_column("priority")
        batch.drop_column("broadcast_id")
    op.drop_table("outbox_worker")
    op.drop_table("broadcast")
    op.drop_table("media")
