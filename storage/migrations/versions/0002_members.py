"""Members, audit log, opt-out and shared-phone state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("community.id"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("kelurahan", sa.String(length=64), nullable=True),
        sa.Column("rt_rw", sa.String(length=16), nullable=True),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accessibility_note", sa.String(length=200), nullable=True),
        sa.Column("deletion_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("community_id", "phone", "name_key", name="uq_member_phone_name"),
    )
    op.create_index("ix_member_community_id", "member", ["community_id"])
    op.create_index("ix_member_phone", "member", ["phone"])
    op.create_index("ix_member_status", "member", ["status"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("community.id"), nullable=True),
        sa.Column("actor_member_id", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("actor_identity_id", sa.Integer(), sa.ForeignKey("identity.id"), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_log_community_id", "audit_log", ["community_id"])
    op.create_index("ix_audit_log_actor_member_id", "audit_log", ["actor_member_id"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])

    with op.batch_alter_table("identity") as batch:
        batch.add_column(
            sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("unreachable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(
            sa.Column(
                "member_id",
                sa.Integer(),
                sa.ForeignKey("member.id", name="fk_conversation_member"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_column("member_id")
    with op.batch_alter_table("identity") as batch:
        batch.drop_column("unreachable")
        batch.drop_column("opted_out")
    op.drop_table("audit_log")
    op.drop_table("member")
