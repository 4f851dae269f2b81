"""Foundation: communities, identities, inbound messages, conversations.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    community = op.create_table(
        "community",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_community_slug", "community", ["slug"], unique=True)

    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("community.id"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("channel", "address", name="uq_identity_address"),
    )
    op.create_index("ix_identity_community_id", "identity", ["community_id"])
    op.create_index("ix_identity_phone", "identity", ["phone"])

    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("platform_id", sa.String(length=128), nullable=False),
        sa.Column("identity_id", sa.Integer(), sa.ForeignKey("identity.id"), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "platform_id", name="uq_inbound_platform_id"),
    )
    op.create_index("ix_inbound_message_identity_id", "inbound_message", ["identity_id"])
    op.create_index("ix_inbound_message_received_at", "inbound_message", ["received_at"])

    op.create_table(
        "conversation",
        sa.Column("key", sa.String(length=96), primary_key=True),
        sa.Column("dialog", sa.String(length=64), nullable=True),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_updated_at", "conversation", ["updated_at"])

    op.bulk_insert(
        community,
        [
            {
                "slug": "wlcc-palembang",
                "name": "WLCC Palembang",
                "created_at": _now(),
            }
        ],
    )


def _now() -> object:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def downgrade() -> None:
    op.drop_table("conversation")
    op.drop_table("inbound_message")
    op.drop_table("identity")
    op.drop_table("community")
