"""outbox.claimed_by and held_until: the claim token and hold of the worker batch
holding an email

A worker claims due emails for a short hold (MAIL_CLAIM_SECONDS) under a token of its
own, renews the hold while it works and sends or records only the rows its token still
holds: once a hold ran out and another worker took an email, the first one drops it.
The hold has a column of its own, so next_attempt_at keeps the time an email is due and
an email given back, or left by a worker that died, keeps its place in line. Existing
rows are held by no one (a hold of the old kind, next_attempt_at pushed ahead, just runs
out).

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
        batch_op.add_column(sa.Column("held_until", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("held_until")
        batch_op.drop_column("claimed_by")
