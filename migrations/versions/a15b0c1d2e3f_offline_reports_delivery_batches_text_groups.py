"""Offline letters, delivery batches as records, moderation by group

- offline_reports: letters written offline, reported by partners or staff, counted once
  approved;
- delivery_batches, letters.delivery_batch_id (the batch that holds a letter) and
  outbox.delivery_batch_id (an appeals batch emailed to the official);
  cases.target_email;
- text_groups and letters.group_key (the queue's groups: copies of one text, near-copies
  of a suggested one), cases.solidarity_suggestions; site_settings for admins' settings.

Existing letters join the group of their own text (group_key = fingerprint).

Revision ID: a15b0c1d2e3f
Revises: f7a1b2c3d4e5
Create Date: 2026-12-06 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a15b0c1d2e3f"
down_revision = "f7a1b2c3d4e5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "site_settings",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_site_settings")),
    )
    op.create_table(
        "delivery_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("first_letter_id", sa.Integer(), nullable=True),
        sa.Column("last_letter_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("sent_recorded_at", sa.DateTime(), nullable=True),
        sa.Column("sent_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("emailed_to", sa.String(length=254), nullable=False),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_batches")),
    )
    op.create_index(
        "ix_delivery_batches_case_kind", "delivery_batches", ["case_id", "kind", "state"]
    )
    op.create_table(
        "offline_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partners.id"), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("appeals", sa.Integer(), nullable=False),
        sa.Column("solidarity", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=200), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("photo", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("review_note", sa.String(length=500), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_reports")),
    )
    op.create_index(
        "ix_offline_reports_same", "offline_reports", ["partner_id", "case_id", "held_on"]
    )
    op.create_index("ix_offline_reports_state_case", "offline_reports", ["state", "case_id"])
    op.create_table(
        "text_groups",
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("suggested", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_text_groups")),
    )
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(
            sa.Column("target_email", sa.String(length=254), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("solidarity_suggestions", sa.JSON(), nullable=False, server_default="{}")
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "letters",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},  # kept when SQLite copies the table
    ) as batch_op:
        batch_op.add_column(
            sa.Column("group_key", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("delivery_batch_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_letters_delivery_batch_id_delivery_batches"),
            "delivery_batches",
            ["delivery_batch_id"],
            ["id"],
        )
    op.execute("UPDATE letters SET group_key = fingerprint")
    op.create_index("ix_letters_delivery_batch_id", "letters", ["delivery_batch_id"])
    op.create_index(
        "ix_letters_groups",
        "letters",
        ["status", "moderation", "group_key", "fingerprint", "flagged", "delivery_batch_id", "id"],
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("delivery_batch_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_delivery_batch_id_delivery_batches"),
            "delivery_batches",
            ["delivery_batch_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_delivery_batch_id_delivery_batches"), type_="foreignkey"
        )
        batch_op.drop_column("delivery_batch_id")
    op.drop_index("ix_letters_groups", table_name="letters")
    op.drop_index("ix_letters_delivery_batch_id", table_name="letters")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "letters",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_letters_delivery_batch_id_delivery_batches"), type_="foreignkey"
        )
        batch_op.drop_column("delivery_batch_id")
        batch_op.drop_column("group_key")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("solidarity_suggestions")
        batch_op.drop_column("target_email")
    op.drop_table("text_groups")
    op.drop_index("ix_offline_reports_state_case", table_name="offline_reports")
    op.drop_index("ix_offline_reports_same", table_name="offline_reports")
    op.drop_table("offline_reports")
    op.drop_index("ix_delivery_batches_case_kind", table_name="delivery_batches")
    op.drop_table("delivery_batches")
    op.drop_table("site_settings")
