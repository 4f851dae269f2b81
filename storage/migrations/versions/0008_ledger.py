"""The credit union's ledger (issue 11): append-only entries per member and kind, and the
cached balances. Triggers refuse UPDATE and DELETE of an entry on SQLite and PostgreSQL alike:
a correction is a reversal entry. storage/ledger.py describes the tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_access",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("failed_tries", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("monthly_statement", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    with op.batch_alter_table("ledger_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_access_community_id"), ["community_id"], unique=False
        )
    op.create_table(
        "ledger_balance",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("member_id", "kind"),
    )
    with op.batch_alter_table("ledger_balance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_balance_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_member_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_entry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("reverses_id"),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ledger_entry_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(
            "ix_ledger_entry_member_kind", ["member_id", "kind", "id"], unique=False
        )

    _append_only()


_REFUSAL = "ledger entries are append-only: record a reversal instead"


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_entry_no_{event.lower()} BEFORE {event} ON ledger_entry "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entry_append_only ON ledger_entry")
        op.execute("DROP FUNCTION ledger_entry_append_only()")
    else:
        op.execute("DROP TRIGGER ledger_entry_no_update")
        op.execute("DROP TRIGGER ledger_entry_no_delete")
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_member_kind")
        batch_op.drop_index(batch_op.f("ix_ledger_entry_loan_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_created_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_community_id"))

    op.drop_table("ledger_entry")
    with op.batch_alter_table("ledger_balance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_balance_community_id"))

    op.drop_table("ledger_balance")
    with op.batch_alter_table("ledger_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_access_community_id"))

    op.drop_table("ledger_access")
