"""Complaints (issue 12): tickets, their reporters, photos and history. storage/complaints.py
describes the tables, the lifecycle and the codes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending_fetch", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_media_pending_fetch"), ["pending_fetch"], unique=False)

    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("voice_media_id", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("rt_rw", sa.String(length=16), nullable=True),
        sa.Column("kelurahan", sa.String(length=64), nullable=True),
        sa.Column("outside_palembang", sa.Boolean(), nullable=False),
        sa.Column("contact_ok", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("forwarded_to", sa.String(length=200), nullable=True),
        sa.Column("public_description", sa.Boolean(), nullable=False),
        sa.Column("reporter_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_progress_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.ForeignKeyConstraint(["duplicate_of"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["voice_media_id"], ["media.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_near",
            ["community_id", "category", "latitude", "longitude"],
            unique=False,
        )
        batch_op.create_index(
            "ix_complaint_area", ["community_id", "category", "kelurahan", "rt_rw"], unique=False
        )
        batch_op.create_index(
            "ix_complaint_open", ["community_id", "status", "created_at"], unique=False
        )

    op.create_table(
        "complaint_reporter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("original", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_fixed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["identity_id"], ["identity.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "identity_id", name="uq_complaint_reporter_identity"),
    )
    with op.batch_alter_table("complaint_reporter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_reporter_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaint_reporter_identity_id"), ["identity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaint_reporter_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "complaint_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "position", name="uq_complaint_photo"),
    )
    with op.batch_alter_table("complaint_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_photo_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("actor_member_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_event_complaint_id"), ["complaint_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_event_complaint_id"))
    op.drop_table("complaint_event")
    with op.batch_alter_table("complaint_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_photo_complaint_id"))
    op.drop_table("complaint_photo")
    with op.batch_alter_table("complaint_reporter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_reporter_member_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_reporter_identity_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_reporter_complaint_id"))
    op.drop_table("complaint_reporter")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_open")
        batch_op.drop_index("ix_complaint_area")
        batch_op.drop_index("ix_complaint_near")
    op.drop_table("complaint")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_pending_fetch"))
        batch_op.drop_column("pending_fetch")
