"""A case's own texts (its suggested solidarity messages and appeal letters) as the
moderation groups know them: one TextGroup row per text, suggested=True, so that copies of
them are grouped in the queue, near-copies are matched against them (moderation/similar.py)
and an approval of one reaches its later copies under the "suggested" setting.

A text staff take off the case keeps its row and its decision (the letters that copied it
were decided with it, and a rejection's reason still applies to new copies), but is
marked suggested=False: copies arriving later follow the setting for other texts, and
near-copies are no longer matched against it. Putting the text back marks it again.
A text two cases share (same fingerprint) belongs to the case saved last.
"""

import sqlalchemy as sa

from cases.suggestions import all_texts
from extensions import db, dialect_insert
from models import TextGroup
from moderation.flags import fingerprint


def sync_case_texts(case):
    """Upsert a suggested TextGroup row for each of `case`'s texts and unmark the rows of
    texts it no longer has. Part of the caller's transaction (the case needs its id)."""
    texts = {fingerprint(text): text for text in all_texts(case)}  # one row per key
    if texts:
        insert = dialect_insert()(TextGroup).values(
            [
                {"key": key, "text": text, "case_id": case.id, "suggested": True}
                | {"decision": "", "reason": ""}
                for key, text in texts.items()
            ]
        )
        db.session.execute(
            insert.on_conflict_do_update(
                index_elements=[TextGroup.key],
                set_={
                    "text": insert.excluded.text,
                    "case_id": insert.excluded.case_id,
                    "suggested": True,
                },
            )
        )
    db.session.execute(
        sa.update(TextGroup)
        .where(
            TextGroup.case_id == case.id,
            TextGroup.suggested.is_(True),
            TextGroup.key.not_in(list(texts)),
        )
        .values(suggested=False)
    )
