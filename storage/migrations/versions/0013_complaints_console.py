"""The console's complaint pages (issue 13): indexes for the list's filters and order (every
ticket by date, by kelurahan, by category) and for the escalation's flags.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_complaint_created", "complaint", ["community_id", "created_at"])
    op.create_index(
        "ix_complaint_kelurahan", "complaint", ["community_id", "kelurahan", "created_at"]
    )
    op.create_index(
        "ix_complaint_category", "complaint", ["community_id", "category", "created_at"]
    )
    op.create_index("ix_complaint_event_label", "complaint_event", ["actor_label", "complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_complaint_event_label", table_name="complaint_event")
    op.drop_index("ix_complaint_category", table_name="complaint")
    op.drop_index("ix_complaint_kelurahan", table_name="complaint")
    op.drop_index("ix_complaint_created", table_name="complaint")
