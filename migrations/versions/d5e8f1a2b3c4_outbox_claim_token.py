"""outbox.claimed_by: the claim token of the worker batch holding an email

A worker claims due emails for a short hold (MAIL_CLAIM_SECONDS) under a token of its
own, renews the hold while it works and sends or records only the rows its token still
holds: once a hold ran out and another worker took an email, the first one drops it.
Existing rows are held by no one.

Revision ID: d5e8f1a2b3c4
Revises: c4a7e2f19b30
Create Date: 2026-12-05 17:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d5e8f1a2b3c4"
down_revision = "c4a7e2f19b30"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("claimed_by")
