"""Meetings and trainings (issue 10): events and their monthly rules, answers (RSVP) with a
training's waiting list, attendance, the rotating roles and the members who pause them, and the
themes members suggest and vote on. Tables only: storage/meetings.py describes them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("nth", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("kelurahan", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("meeting_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_rule_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "role_pause",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_table(
        "theme_poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("theme_poll", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_theme_poll_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_theme_poll_status"), ["status"], unique=False)

    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("kelurahan", sa.JSON(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("previous_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("occurrence", sa.Date(), nullable=True),
        sa.Column("holiday", sa.String(length=200), nullable=True),
        sa.Column("suggested_date", sa.Date(), nullable=True),
        sa.Column("checkin_code", sa.String(length=16), nullable=True),
        sa.Column("created_by_member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["meeting_rule.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_id", "occurrence", name="uq_meeting_rule_occurrence"),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_community_id"), ["community_id"], unique=False)
        batch_op.create_index(
            "ix_meeting_community_start", ["community_id", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_meeting_rule_id"), ["rule_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_status"), ["status"], unique=False)

    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_member_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "member_id", name="uq_attendance_member"),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendance_member_id"), ["member_id"], unique=False)

    op.create_table(
        "meeting_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "role", "member_id", name="uq_meeting_role_member"),
    )
    with op.batch_alter_table("meeting_role", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_role_meeting_id"), ["meeting_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_meeting_role_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_role_status"), ["status"], unique=False)

    op.create_table(
        "rsvp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "member_id", name="uq_rsvp_member"),
    )
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rsvp_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rsvp_member_id"), ["member_id"], unique=False)

    op.create_table(
        "theme_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_meeting_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["used_meeting_id"],
            ["meeting.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("theme_suggestion", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_theme_suggestion_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_theme_suggestion_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "theme_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["theme_poll.id"],
        ),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["theme_suggestion.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("poll_id", "member_id", name="uq_theme_vote_member"),
    )
    with op.batch_alter_table("theme_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_theme_vote_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_theme_vote_poll_id"), ["poll_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("theme_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_vote_poll_id"))
        batch_op.drop_index(batch_op.f("ix_theme_vote_member_id"))

    op.drop_table("theme_vote")
    with op.batch_alter_table("theme_suggestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_suggestion_member_id"))
        batch_op.drop_index(batch_op.f("ix_theme_suggestion_community_id"))

    op.drop_table("theme_suggestion")
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rsvp_member_id"))
        batch_op.drop_index(batch_op.f("ix_rsvp_meeting_id"))

    op.drop_table("rsvp")
    with op.batch_alter_table("meeting_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_role_status"))
        batch_op.drop_index(batch_op.f("ix_meeting_role_member_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_role_meeting_id"))

    op.drop_table("meeting_role")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendance_member_id"))
        batch_op.drop_index(batch_op.f("ix_attendance_meeting_id"))

    op.drop_table("attendance")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_status"))
        batch_op.drop_index(batch_op.f("ix_meeting_rule_id"))
        batch_op.drop_index("ix_meeting_community_start")
        batch_op.drop_index(batch_op.f("ix_meeting_community_id"))

    op.drop_table("meeting")
    with op.batch_alter_table("theme_poll", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_poll_status"))
        batch_op.drop_index(batch_op.f("ix_theme_poll_community_id"))

    op.drop_table("theme_poll")
    op.drop_table("role_pause")
    with op.batch_alter_table("meeting_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_rule_community_id"))

    op.drop_table("meeting_rule")
