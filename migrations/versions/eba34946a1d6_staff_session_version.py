"""staff_users.session_version, so that one change ends all of an account's sessions

Every staff session carries its account's session version (StaffUser.get_id); signing
out, a new password or role and `staff disable` raise it, so every copy of an older
session cookie stops working at once, on every app server. Existing rows start at 0;
sessions made before this migration carry no version and end at their next request.

Revision ID: eba34946a1d6
Revises: b7c1d2e3f4a5
Create Date: 2026-12-05 16:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "eba34946a1d6"
down_revision = "b7c1d2e3f4a5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("session_version")
