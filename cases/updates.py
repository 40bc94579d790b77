"""News of a case that staff post (CaseUpdate): written, edited and published here, shown on
the case page, and, when it tells what became of the person of a closed case, on the home
page's "Letters work" section.

An update is a draft until staff publish it: only staff see drafts. Each change and its
audit record are committed together; a change the public sees empties the page cache
(cases.manage.forget_cached_pages), so cached pages show it within PAGE_CACHE_SECONDS.
Emailing an update to the case's writers is mail/news.py's concern.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from cases.languages import InLanguage
from cases.manage import forget_cached_pages
from extensions import begin_write, db
from models import Case, CaseUpdate, Outbox, utcnow
from staff import audit

# What became of the person, as staff may say it with an update ("" says nothing).
OUTCOMES = {
    "released": _l("Released"),
    "charges_dropped": _l("Charges dropped"),
    "acquitted": _l("Acquitted"),
    "sentence_reduced": _l("Sentence reduced"),
    "still_detained": _l("Still detained"),
}
# The outcomes the home page's "Letters work" tells: a person still detained is news for
# the case page, not a success to show off.
GOOD_OUTCOMES = ("released", "charges_dropped", "acquitted", "sentence_reduced")
TRANSLATED_TEXTS = ("title", "body")
HOME_OUTCOMES = 3  # how many the home page shows


class UpdateInLanguage(InLanguage):
    """An update read in one language: its title and text where staff translated them,
    else the English ones (lang_of says which)."""

    fields = TRANSLATED_TEXTS

    @property
    def outcome_label(self):
        return OUTCOMES.get(self.row.outcome, "")


def case_updates(case):
    """Every update of `case`, drafts too, newest first: the staff list."""
    return db.session.scalars(
        sa.select(CaseUpdate)
        .where(CaseUpdate.case_id == case.id)
        .order_by(CaseUpdate.happened_on.desc(), CaseUpdate.id.desc())
    ).all()


def published_updates(case_id, language):
    """The case page's news: the published updates, newest first, in `language`."""
    found = db.session.scalars(
        sa.select(CaseUpdate)
        .where(CaseUpdate.case_id == case_id, CaseUpdate.published_at.is_not(None))
        .order_by(CaseUpdate.happened_on.desc(), CaseUpdate.id.desc())
    )
    return [UpdateInLanguage(update, language) for update in found]


def home_outcomes(language, limit=HOME_OUTCOMES):
    """The home page's "Letters work": each closed case's newest outcome when it is a good
    one (released, then detained again, is not a success), newest first, at most `limit`,
    as (update, case) pairs in `language`."""
    found = db.session.execute(
        sa.select(CaseUpdate, Case)
        .join(Case, CaseUpdate.case_id == Case.id)
        .where(
            Case.status == "closed",
            CaseUpdate.published_at.is_not(None),
            CaseUpdate.outcome != "",
        )
        .order_by(CaseUpdate.happened_on.desc(), CaseUpdate.id.desc())
        .limit(limit * 10)  # a case with several outcomes shows its newest only
    )
    outcomes, seen = [], set()
    for update, case in found:
        if case.id in seen:
            continue
        seen.add(case.id)
        if update.outcome in GOOD_OUTCOMES and len(outcomes) < limit:
            outcomes.append((UpdateInLanguage(update, language), case.in_language(language)))
    return outcomes


def create_update(case, values):
    """A new update of `case`, as a draft: the public sees it once staff publish it."""
    begin_write()
    author = current_user.id if current_user.is_authenticated else None
    update = CaseUpdate(case_id=case.id, created_by_id=author, **values)
    db.session.add(update)
    db.session.flush()
    audit.record("case_update.create", update, case=case.slug, title=update.title)
    db.session.commit()
    return update


def edit_update(update, values):
    """Apply the edited fields; returns the names of those that changed ("title",
    "translations.es.body"...), as the audit log records them."""
    begin_write()  # reads the update afresh, inside the write
    old_texts = update.translations or {}
    changed = []
    for name, value in values.items():
        if getattr(update, name) != value:
            changed += changed_texts(name, old_texts, value)
            setattr(update, name, value)
    if changed:
        audit.record("case_update.edit", update, case=update.case.slug, changed=changed)
    published = update.published_at is not None
    db.session.commit()
    if changed and published:
        forget_cached_pages()
    return changed


def changed_texts(name, old, new):
    if name != "translations":
        return [name]
    return [
        f"translations.{code}.{text}"
        for code in sorted(set(old) | set(new))
        for text in TRANSLATED_TEXTS
        if (old.get(code) or {}).get(text, "") != (new.get(code) or {}).get(text, "")
    ]


def set_published(update, publish):
    """Publish a draft (publish=True) or take a published update back to a draft; False
    when it already was so. Taking it back also stops its email to the writers, in the
    same transaction (mail/news.stop_pending): the emails not sent yet never go, even if
    it is published again (the writers must not get news the case page no longer shows)."""
    from mail import news

    begin_write()
    if (update.published_at is not None) == publish:
        db.session.rollback()
        return False
    details = {} if publish else {"emails_stopped": news.stop_pending(update) or 0}
    update.published_at = utcnow() if publish else None
    action = "case_update.publish" if publish else "case_update.unpublish"
    audit.record(action, update, case=update.case.slug, title=update.title, **details)
    db.session.commit()
    forget_cached_pages()
    return True


def delete_draft(update):
    """Delete an update that was never published nor emailed; False otherwise (what the
    public or the writers saw stays on record: unpublish it instead)."""
    begin_write()
    if update.published_at is not None or update.emailed_at is not None:
        db.session.rollback()
        return False
    audit.record("case_update.delete", update, case=update.case.slug, title=update.title)
    # Staff's test sends of it (mail/news.py) go with it, sent or not.
    db.session.execute(
        sa.delete(Outbox)
        .where(Outbox.case_update_id == update.id, Outbox.template == "news_test")
        .execution_options(synchronize_session=False)
    )
    db.session.delete(update)
    db.session.commit()
    return True
