"""What admins tune for the moderators: the reject-reason catalogue and the abuse word
lists. Each save is one transaction with its audit record; a save that changes nothing
writes nothing."""

import sqlalchemy as sa

from extensions import begin_write, db
from models import FlagWord, RejectReason, SiteSetting
from moderation.flag_words import DEFAULT_WORDS
from staff import audit
from web import caching


def reject_reasons():
    """The catalogue in the order moderators see it (inactive ones too)."""
    return db.session.scalars(
        sa.select(RejectReason).order_by(RejectReason.sort_order, RejectReason.id)
    ).all()


def save_reasons(edits, new_text=""):
    """Rename, deactivate or reactivate reasons and add one; returns what changed.

    `edits` maps a reason's id to its (text, active); reasons it leaves out (added by
    someone else meanwhile) stay as they are.
    """
    begin_write()
    ordered = reject_reasons()
    changes = {"added": [], "renamed": [], "deactivated": [], "reactivated": []}
    for reason in ordered:
        if reason.id not in edits:
            continue
        text, active = edits[reason.id]
        if reason.text != text:
            changes["renamed"].append({"from": reason.text, "to": text})
            reason.text = text
        if reason.active != active:
            changes["reactivated" if active else "deactivated"].append(text)
            reason.active = active
    if new_text:
        last = max((reason.sort_order for reason in ordered), default=-1)
        db.session.add(RejectReason(text=new_text, active=True, sort_order=last + 1))
        changes["added"].append(new_text)
    return finish_reasons(changes)


def move_reason(reason_id, direction):
    """Swap a reason with its neighbour in the moderators' list; False at either end."""
    begin_write()
    ordered = list(reject_reasons())
    index = next((i for i, reason in enumerate(ordered) if reason.id == reason_id), None)
    other = None if index is None else index + (-1 if direction == "up" else 1)
    if other is None or not 0 <= other < len(ordered):
        db.session.rollback()
        return False
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, reason in enumerate(ordered):
        reason.sort_order = position
    return bool(finish_reasons({"order": [reason.text for reason in ordered]}))


def finish_reasons(changes):
    """Commit with one "settings.reasons" record, or roll back when nothing changed."""
    changes = {key: value for key, value in changes.items() if value}
    if not changes:
        db.session.rollback()
        return {}
    audit.record("settings.reasons", **changes)
    db.session.commit()
    return changes


def word_languages():
    """Every language with a list: the built-in ones, and any an admin keeps a list for."""
    custom = db.session.scalars(sa.select(FlagWord.language).distinct()).all()
    return sorted(set(DEFAULT_WORDS) | set(custom), key=lambda code: (code != "en", code))


def custom_words(language):
    """The admins' list for `language` in the order it was written, or [] for none."""
    return db.session.scalars(
        sa.select(FlagWord.word).where(FlagWord.language == language).order_by(FlagWord.id)
    ).all()


def save_words(language, words):
    """Make `words` the list for `language` (the built-in list no longer applies to it).

    A list identical to the built-in one is stored as no list at all, so that it keeps
    following the built-in list. Returns what changed ({} for nothing).
    """
    begin_write()
    before = custom_words(language) or list(DEFAULT_WORDS.get(language, ()))
    db.session.execute(sa.delete(FlagWord).where(FlagWord.language == language))
    if tuple(words) != tuple(DEFAULT_WORDS.get(language, ())):
        db.session.add_all(FlagWord(language=language, word=word) for word in words)
    added = [word for word in words if word not in before]
    removed = [word for word in before if word not in words]
    kept = [word for word in words if word in before]
    reordered = kept != [word for word in before if word in words]
    return finish_words(language, added=added, removed=removed, reordered=reordered)


def restore_words(language):
    """Back to the built-in list for `language`: the admins' list is deleted."""
    begin_write()
    before = custom_words(language)
    if not before:
        db.session.rollback()
        return {}
    db.session.execute(sa.delete(FlagWord).where(FlagWord.language == language))
    default = list(DEFAULT_WORDS.get(language, ()))
    return finish_words(
        language,
        restored=True,
        added=[word for word in default if word not in before],
        removed=[word for word in before if word not in default],
    )


def finish_words(language, **changes):
    changes = {key: value for key, value in changes.items() if value}
    if not changes:
        db.session.rollback()
        return {}
    audit.record("settings.words", language=language, **changes)
    db.session.commit()
    # This process checks the next letter with the new list; the others within
    # PAGE_CACHE_SECONDS (letters.flag_words keeps the lists that long).
    caching.forget(("flag-words",))
    return changes


# Admins' moderation settings (models.SiteSetting), each with its default.
SETTINGS = {
    # Copies of an approved suggested text (the case's own) are approved on arrival.
    "auto_approve_suggested": True,
    # Copies of any other approved text are approved on arrival.
    "auto_approve_other": False,
}


def setting(name):
    """The admins' value of a moderation setting, or its default."""
    stored = db.session.get(SiteSetting, name)
    return SETTINGS[name] if stored is None else stored.value


def save_setting(name, value):
    """Store a setting with its audit record (no write when it does not change)."""
    begin_write()
    before = setting(name)
    if before == value:
        db.session.rollback()
        return False
    db.session.merge(SiteSetting(name=name, value=value))
    audit.record("settings.moderation", setting=name, before=before, after=value)
    db.session.commit()
    return True
