"""What moderation remembers beyond each letter: decisions on a text (its copies arriving
later get them) and the admins' moderation settings."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db


class TextGroup(db.Model):
    """A text that letters share: keyed by flags.fingerprint. Letters join a group through
    Letter.group_key (their own fingerprint, or a near text's: moderation/groups.py).

    `text` is kept only for a case's suggested texts (and appeal templates), never for a
    supporter's own words: erasing a supporter must leave nothing of them here.
    """

    __tablename__ = "text_groups"

    key: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    suggested: Mapped[bool] = mapped_column(default=False)  # the case's own text
    # What exact copies arriving later get: "" (the queue), approved or rejected.
    decision: Mapped[str] = mapped_column(sa.String(20), default="")
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None]


class SiteSetting(db.Model):
    """An admin's setting, by name (moderation/settings.py knows each one and its default)."""

    __tablename__ = "site_settings"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[dict | list | str | int | bool | None] = mapped_column(sa.JSON)
