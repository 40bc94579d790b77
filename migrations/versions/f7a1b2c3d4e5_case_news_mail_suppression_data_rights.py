"""Case news by email, where email must not go, consent with its time, and data rights

- case_updates: news of a case (a text per language, an outcome), and its email's send;
- outbox.priority (letters' emails before news), outbox.case_update_id and language (one
  news email per address and update, progress per language), outbox.data_link_id;
  ix_outbox_due replaces ix_outbox_state_next_attempt_at (claims order by priority);
- mail_addresses: suppression and unsubscribes by keyed hash; mail_events per day;
- contact_consents: consent to hear from the campaign, with time and notice version;
- data_links: single-use "Your letters" links;
- cases.closed_at (retention counts from it; closed cases get their updated_at);
- letters.privacy_version: the privacy notice the writer agreed to; on SQLite, letters
  and data_links ids are AUTOINCREMENT (a deleted row's id never comes back).

Revision ID: f7a1b2c3d4e5
Revises: e6f9a3b4c5d7
Create Date: 2026-12-05 23:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f7a1b2c3d4e5"
down_revision = "e6f9a3b4c5d7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False, server_default=""),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.Column("emailed_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_case_updates_case_id_happened_on", "case_updates", ["case_id", "happened_on"]
    )
    op.create_table(
        "data_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_data_links_email_key", "data_links", ["email_key"])
    op.create_table(
        "mail_addresses",
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("soft_bounces", sa.Integer(), nullable=False),
        sa.Column("suppressed_at", sa.DateTime(), nullable=True),
        sa.Column("suppressed_reason", sa.String(length=20), nullable=False, server_default=""),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address_hash"),
    )
    op.create_table(
        "mail_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mail_events_created_at", "mail_events", ["created_at"])
    op.create_table(
        "contact_consents",
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("privacy_version", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("email_key"),
    )
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE cases SET closed_at = updated_at WHERE status = 'closed'")
    # On SQLite a deleted row's id came back (max(id) + 1) for the next letter, and erasing
    # and retention now delete letters: AUTOINCREMENT, as PostgreSQL's sequences already
    # do, keeps a link signed for a deleted letter from confirming the next one.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "letters",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.add_column(
            sa.Column("privacy_version", sa.String(length=20), nullable=False, server_default="")
        )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("case_update_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("data_link_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_case_update_id_case_updates", "case_updates", ["case_update_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_outbox_data_link_id_data_links", "data_links", ["data_link_id"], ["id"]
        )
        batch_op.drop_index("ix_outbox_state_next_attempt_at")
        batch_op.create_index("ix_outbox_due", ["state", "priority", "next_attempt_at", "id"])
        batch_op.create_index(
            "uq_outbox_update_recipient",
            ["case_update_id", "recipient"],
            unique=True,
            sqlite_where=sa.text("template = 'news'"),
            postgresql_where=sa.text("template = 'news'"),
        )
        batch_op.create_index(
            "ix_outbox_update_progress", ["case_update_id", "template", "state", "language"]
        )


def downgrade():
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_update_progress")
        batch_op.drop_index("uq_outbox_update_recipient")
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_state_next_attempt_at", ["state", "next_attempt_at"])
        batch_op.drop_constraint("fk_outbox_data_link_id_data_links", type_="foreignkey")
        batch_op.drop_constraint("fk_outbox_case_update_id_case_updates", type_="foreignkey")
        batch_op.drop_column("data_link_id")
        batch_op.drop_column("language")
        batch_op.drop_column("case_update_id")
        batch_op.drop_column("priority")
    with op.batch_alter_table("letters") as batch_op:
        batch_op.drop_column("privacy_version")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("closed_at")
    op.drop_table("contact_consents")
    op.drop_index("ix_mail_events_created_at", table_name="mail_events")
    op.drop_table("mail_events")
    op.drop_table("mail_addresses")
    op.drop_index("ix_data_links_email_key", table_name="data_links")
    op.drop_table("data_links")
    op.drop_index("ix_case_updates_case_id_happened_on", table_name="case_updates")
    op.drop_table("case_updates")
