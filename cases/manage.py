"""Case management: create, edit, publish, close and reorder cases.

Each change and its audit record are committed together or not at all, and a photo file
lives exactly as long as the case points to it: a new one is removed again when the
change fails, and a replaced or removed one is deleted once the change is committed.
"""

import sqlalchemy as sa

from cases import photos
from cases.languages import TRANSLATED_FIELDS
from extensions import begin_write, db
from models import Case, utcnow
from moderation.suggested import sync_case_texts
from staff import audit
from web import caching


def forget_cached_pages():
    """The app's cache forgets every page (every process's when it is Redis); any copy
    elsewhere is at most PAGE_CACHE_SECONDS old (web/caching.py)."""
    caching.forget_everything()


def create_case(values, photo=None):
    """A new case, as a draft: nothing is public until an admin publishes it."""
    stored = photos.save(photo) if photo else None
    try:
        begin_write()
        case = Case(status="draft", photo=stored, **values)
        db.session.add(case)
        db.session.flush()
        sync_case_texts(case)
        audit.record("case.create", case, slug=case.slug, name=case.name)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        photos.delete(stored)
        raise
    return case


def update_case(case, values, photo=None, remove_photo=False):
    """Apply the edited fields; returns the names of the fields that changed."""
    stored = photos.save(photo) if photo else None
    try:
        begin_write()  # reads the case afresh, inside the write
        old_photo = case.photo
        old_texts = case.translations or {}
        old_suggestions = case.solidarity_suggestions or {}
        changed = [name for name, value in values.items() if getattr(case, name) != value]
        for name in changed:
            setattr(case, name, values[name])
        sync_case_texts(case)  # every save: rows a case from before them lacks come too
        changed = [each for name in changed for each in changed_texts(name, old_texts, values)]
        changed = [
            each for name in changed for each in changed_suggestions(name, old_suggestions, values)
        ]
        if stored or (remove_photo and old_photo):
            case.photo = stored
            changed.append("photo")
        if changed:
            audit.record("case.update", case, slug=case.slug, changed=changed)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        photos.delete(stored)
        raise
    if old_photo and case.photo != old_photo:
        photos.delete(old_photo)
    if changed:
        forget_cached_pages()
    return changed


def changed_texts(name, old_translations, values):
    """How a changed field is named in the audit log: a translation by language and text,
    "translations.es.story", so the log says which texts staff changed."""
    if name != "translations":
        return [name]
    new_translations = values["translations"]
    languages = sorted(set(old_translations) | set(new_translations))
    return [
        f"translations.{code}.{text}"
        for code in languages
        for text in TRANSLATED_FIELDS
        if (old_translations.get(code) or {}).get(text, "")
        != (new_translations.get(code) or {}).get(text, "")
    ]


def changed_suggestions(name, old, values):
    """Changed suggested messages are named by language, "solidarity_suggestions.es":
    `flask seed` then never fills in a language staff wrote or emptied."""
    if name != "solidarity_suggestions":
        return [name]
    new = values["solidarity_suggestions"]
    languages = sorted(set(old) | set(new))
    return [f"{name}.{code}" for code in languages if old.get(code) != new.get(code)]


def set_status(case, status, allowed_from):
    """Move the case to `status` if it is in one of `allowed_from`; False when it was not."""
    begin_write()
    previous = case.status
    if previous not in allowed_from:
        db.session.rollback()
        return False
    case.status = status
    # Reopening forgets the date: anonymisation counts from the last close.
    case.closed_at = utcnow() if status == "closed" else None
    action = {"published": "case.publish", "closed": "case.close"}[status]
    audit.record(action, case, slug=case.slug, previous=previous)
    db.session.commit()
    forget_cached_pages()
    return True


def publish(case):
    """Show a draft to the public, or open a closed case to letters again."""
    return set_status(case, "published", ("draft", "closed"))


def close(case):
    """A closed case stays on the site, with its story, but takes no more letters."""
    return set_status(case, "closed", ("published",))


def move(case, direction):
    """Swap the case with its neighbour in the home page's order ("up" comes first).

    Cases are numbered 1, 2, 3... again on the way, so equal sort_order values left
    by hand edits cannot make a move do nothing.
    """
    begin_write()
    ordered = list(db.session.scalars(sa.select(Case).order_by(Case.sort_order, Case.id)))
    index = ordered.index(case)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(ordered):
        db.session.rollback()
        return False
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, each in enumerate(ordered, start=1):
        each.sort_order = position
    audit.record("case.update", case, slug=case.slug, changed=["sort_order"], moved=direction)
    db.session.commit()
    forget_cached_pages()
    return True
