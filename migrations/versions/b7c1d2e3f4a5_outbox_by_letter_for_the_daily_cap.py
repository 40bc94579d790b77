"""outbox rows found by letter, for the daily cap on unrequested emails

mail/cap.py counts an address's emails of the last 24 hours through its letters
(letters.email_key, then outbox.letter_id): without this index each count would read
the whole outbox, which holds an email for every letter of the campaign.

Revision ID: b7c1d2e3f4a5
Revises: 3c5d2a7e9f41
Create Date: 2026-12-05 16:45:00
"""

from alembic import op

revision = "b7c1d2e3f4a5"
down_revision = "3c5d2a7e9f41"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_outbox_letter_id_created_at", "outbox", ["letter_id", "created_at"])


def downgrade():
    op.drop_index("ix_outbox_letter_id_created_at", table_name="outbox")
