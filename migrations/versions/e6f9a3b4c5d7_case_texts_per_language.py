"""Case texts per language, the person's and the official's languages, and the
supporter's page language and shared confirmation on letters

- cases.translations: {"es": {"name": ..., "summary": ..., ...}}, the case's texts in
  other languages than the default (English, in the case's own columns);
- cases.person_language: the language of the solidarity booklet's cover and headings;
- cases.target_language: the official's language, whose letter template is offered;
- letters.locale: the language of the page the supporter wrote on, so that their emails
  go out in it (letters.language stays the letter's own language);
- letters.confirm_with_id: a letter sent in the same flow as an earlier one from the
  same person (the solidarity message after the appeal) is confirmed by that letter's
  link: one confirmation email per person per case.

Revision ID: e6f9a3b4c5d7
Revises: d5e8f1a2b3c4
Create Date: 2026-12-05 20:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e6f9a3b4c5d7"
down_revision = "d5e8f1a2b3c4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(
            sa.Column("translations", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("person_language", sa.String(length=10), nullable=False, server_default="en")
        )
        batch_op.add_column(
            sa.Column("target_language", sa.String(length=10), nullable=False, server_default="en")
        )
    with op.batch_alter_table("letters") as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=10), nullable=False, server_default="en")
        )
        batch_op.add_column(sa.Column("confirm_with_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_letters_confirm_with_id_letters", "letters", ["confirm_with_id"], ["id"]
        )
        batch_op.create_index("ix_letters_confirm_with_id", ["confirm_with_id"])


def downgrade():
    with op.batch_alter_table("letters") as batch_op:
        batch_op.drop_index("ix_letters_confirm_with_id")
        batch_op.drop_constraint("fk_letters_confirm_with_id_letters", type_="foreignkey")
        batch_op.drop_column("confirm_with_id")
        batch_op.drop_column("locale")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("target_language")
        batch_op.drop_column("person_language")
        batch_op.drop_column("translations")
