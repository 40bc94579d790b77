"""Staff accounts: the second factor, recovery codes, emailed links, known addresses,
and staff emails in the outbox

- staff_users gains its TOTP secret (confirmed by a first code), the last time step used
  (a code works once) and when its owner was last warned of guessing from elsewhere;
- staff_recovery_codes: ten single-use codes per account, hashed;
- staff_links: invitations and password resets, single-use and expiring;
- staff_known_addresses: addresses (keyed hashes) an account signed in from, so the
  per-account sign-in limit never locks the owner out there;
- outbox rows may be staff emails: letter_id becomes optional, staff_id and
  staff_link_id say whom and which link.

Revision ID: c4a7e2f19b30
Revises: eba34946a1d6
Create Date: 2026-12-05 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c4a7e2f19b30"
down_revision = "eba34946a1d6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_confirmed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lockout_notified_at", sa.DateTime(), nullable=True))
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_staff_recovery_codes_staff_id", "staff_recovery_codes", ["staff_id"], unique=False
    )
    op.create_table(
        "staff_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_users.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_links_staff_id", "staff_links", ["staff_id"], unique=False)
    op.create_table(
        "staff_known_addresses",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("staff_id", "address_hash"),
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("letter_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("staff_link_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_outbox_staff_id", "staff_users", ["staff_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_outbox_staff_link_id", "staff_links", ["staff_link_id"], ["id"]
        )


def downgrade():
    op.execute("DELETE FROM outbox WHERE letter_id IS NULL")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint("fk_outbox_staff_link_id", type_="foreignkey")
        batch_op.drop_constraint("fk_outbox_staff_id", type_="foreignkey")
        batch_op.drop_column("staff_link_id")
        batch_op.drop_column("staff_id")
        batch_op.alter_column("letter_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("staff_known_addresses")
    op.drop_index("ix_staff_links_staff_id", table_name="staff_links")
    op.drop_table("staff_links")
    op.drop_index("ix_staff_recovery_codes_staff_id", table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("lockout_notified_at")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_confirmed_at")
        batch_op.drop_column("totp_secret")
