"""the counted-once index's condition written as SQLite's queries write it

SQLAlchemy writes a boolean test as `counted = 1` on SQLite, and SQLite uses a partial
index only when the query repeats the index's condition: with `WHERE counted` it looked
up a new letter's repeat check among all the letters of its case, a cost that grew
through the campaign. PostgreSQL reads both forms alike, so only SQLite changes.

Revision ID: 3c5d2a7e9f41
Revises: 8e13c507c631
Create Date: 2026-12-05 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "3c5d2a7e9f41"
down_revision = "8e13c507c631"
branch_labels = None
depends_on = None

COLUMNS = ["case_id", "kind", "email_key"]


def recreate(condition):
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("uq_letters_counted_once", table_name="letters")
    op.create_index(
        "uq_letters_counted_once",
        "letters",
        COLUMNS,
        unique=True,
        sqlite_where=sa.text(condition),
    )


def upgrade():
    recreate("counted = 1")


def downgrade():
    recreate("counted")
