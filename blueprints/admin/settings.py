"""Settings for admins: the reasons moderators pick when they reject a message, the
word lists that flag a message for them first, and which copies of an approved text are
approved on arrival."""

import re
import unicodedata
from dataclasses import dataclass, field

from flask import (
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_number, ngettext
from flask_babel import gettext as _

from blueprints.admin import admin_only, bp
from extensions import db
from models import RejectReason
from moderation import settings as word_lists
from moderation.flag_words import DEFAULT_WORDS

REASON_MAX = 200  # RejectReason.text
WORD_MAX = 100  # FlagWord.word
WORDS_MAX = 2000  # entries per language


@dataclass
class ReasonRow:
    """One reason as the form shows it, with what the admin typed and its problem."""

    id: int | None
    text: str
    active: bool
    error: str = ""
    posted: bool = True
    field_id: str = field(init=False)

    def __post_init__(self):
        self.field_id = f"reason-{self.id}-text" if self.id else "reason-new-text"


@dataclass
class WordList:
    language: str
    text: str
    custom: bool
    count: int
    error: str = ""


def one_line_problem(text, limit):
    """Why a reason or word cannot be kept as typed, or "" when it can."""
    if len(text) > limit:
        return _("Please keep this under %(max)d characters.", max=limit)
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text):
        return _("Please keep this on one line, without special characters.")
    return ""


def reason_rows(reasons, form=None):
    """The catalogue's rows, with the posted values and their problems when `form` is given."""
    rows = []
    for reason in reasons:
        if form is None or f"reason-{reason.id}-text" not in form:
            # Not on the page that was sent (another admin added it meanwhile): as it is.
            rows.append(ReasonRow(reason.id, reason.text, reason.active, posted=False))
            continue
        text = form.get(f"reason-{reason.id}-text", reason.text).strip()
        active = form.get(f"reason-{reason.id}-active") == "y"
        error = one_line_problem(text, REASON_MAX)
        if not text:
            error = _("Please enter the reason. To stop offering it, untick “Offered”.")
        rows.append(ReasonRow(reason.id, text, active, error))
    seen = set()
    for row in rows:
        key = row.text.casefold()
        if row.active and key in seen and not row.error:
            row.error = _("Another reason already says this.")
        if row.active:
            seen.add(key)
    new = ReasonRow(None, (form or {}).get("new_reason", "").strip(), True)
    new.error = one_line_problem(new.text, REASON_MAX)
    if new.text and not new.error and new.text.casefold() in seen:
        new.error = _("Another reason already says this.")
    return rows, new


def word_list(language, text=None, error=""):
    words = word_lists.custom_words(language)
    shown = words or list(DEFAULT_WORDS.get(language, ()))
    text = "\n".join(shown) if text is None else text
    return WordList(language, text, bool(words), len(shown), error)


def parse_words(text):
    """One entry a line, blank lines skipped, repeats (in any case) kept once; or a problem."""
    words, seen = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        word = " ".join(line.split())
        if not word:
            continue
        problem = one_line_problem(word, WORD_MAX)
        if not problem and not re.search(r"\w", word):
            problem = _("This has no letters, so it would never match anything.")
        if problem:
            return None, _(
                "Line %(number)d (“%(word)s”): %(problem)s",
                number=number,
                word=word[:40],
                problem=problem,
            )
        if word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    if not words:
        return None, _("The list is empty. Add at least one word, or restore the built-in list.")
    if len(words) > WORDS_MAX:
        return None, _("Please keep the list under %(max)d entries.", max=WORDS_MAX)
    return words, ""


def render_settings(status=200, reasons=None, new_reason=None, words=None, focus=None):
    if reasons is None:
        reasons, new_reason = reason_rows(word_lists.reject_reasons())
    lists = [word_list(language) for language in word_lists.word_languages()]
    if words is not None:
        lists = [words if each.language == words.language else each for each in lists]
    page = render_template(
        "admin/settings.html",
        reasons=reasons,
        new_reason=new_reason,
        word_lists=lists,
        focus=focus,
        cache_seconds=current_app.config["PAGE_CACHE_SECONDS"],
        messages=messages_by_section(),
        moderation={name: word_lists.setting(name) for name in word_lists.SETTINGS},
    )
    return page, status


def messages_by_section():
    """Flashed messages, by the section they belong to ("reasons", "words-en"...)."""
    sections = {}
    for section, message in get_flashed_messages(with_categories=True):
        sections.setdefault(section, []).append(message)
    return sections


@bp.get("/settings")
@admin_only
def settings():
    return render_settings()


@bp.post("/settings/reasons")
@admin_only
def settings_reasons():
    rows, new = reason_rows(word_lists.reject_reasons(), request.form)
    problems = [row for row in [*rows, new] if row.error]
    if problems:
        return render_settings(422, rows, new, focus=problems[0].field_id)
    edits = {row.id: (row.text, row.active) for row in rows if row.posted}
    changes = word_lists.save_reasons(edits, new.text)
    if changes:
        flash(
            _("Reject reasons saved. Moderators see them the next time they open a letter."),
            "reasons",
        )
    else:
        flash(_("Nothing had changed, so nothing was saved."), "reasons")
    return redirect(url_for(".settings") + "#reasons", 303)


@bp.post("/settings/reasons/move")
@admin_only
def settings_reasons_move():
    reason_id, _sep, direction = request.form.get("move", "").partition(":")
    if not reason_id.isdigit() or direction not in ("up", "down"):
        abort(400)
    reason = db.session.get(RejectReason, int(reason_id))
    if reason is None:
        abort(404)
    text = reason.text
    messages = {
        (True, "up"): _("Moved “%(reason)s” up.", reason=text),
        (True, "down"): _("Moved “%(reason)s” down.", reason=text),
        (False, "up"): _("“%(reason)s” is already first.", reason=text),
        (False, "down"): _("“%(reason)s” is already last.", reason=text),
    }
    flash(messages[word_lists.move_reason(reason.id, direction), direction], "reasons")
    return redirect(url_for(".settings") + "#reasons", 303)


@bp.post("/settings/moderation")
@admin_only
def settings_moderation():
    """The copies-on-arrival switches (moderation/groups.py): ticked or not."""
    changed = [
        word_lists.save_setting(name, request.form.get(name) == "y") for name in word_lists.SETTINGS
    ]
    if any(changed):
        flash(_("Saved. New copies of approved texts follow it from now on."), "moderation")
    else:
        flash(_("Nothing had changed, so nothing was saved."), "moderation")
    return redirect(url_for(".settings") + "#moderation-heading", 303)


def known_language(language):
    if language not in word_lists.word_languages():
        abort(404)
    return language


def when_letters_see_it():
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds > 0:
        return _("New letters are checked with it within %(seconds)d seconds.", seconds=seconds)
    return _("New letters are checked with it from now on.")


@bp.post("/settings/words/<language>")
@admin_only
def settings_words(language):
    language = known_language(language)
    text = request.form.get("words", "")
    words, problem = parse_words(text)
    if problem:
        shown = word_list(language, text, problem)
        return render_settings(422, words=shown, focus=f"words-{language}")
    if word_lists.save_words(language, words):
        saved = ngettext(
            "Word list saved: %(count)s entry.",
            "Word list saved: %(count)s entries.",
            len(words),
            count=format_number(len(words)),
        )
        flash(saved + " " + when_letters_see_it(), f"words-{language}")
    else:
        flash(_("Nothing had changed, so nothing was saved."), f"words-{language}")
    return redirect(url_for(".settings") + f"#words-{language}-heading", 303)


@bp.post("/settings/words/<language>/restore")
@admin_only
def settings_words_restore(language):
    language = known_language(language)
    if word_lists.restore_words(language):
        flash(_("The built-in list is back.") + " " + when_letters_see_it(), f"words-{language}")
    else:
        flash(_("This language already uses the built-in list."), f"words-{language}")
    return redirect(url_for(".settings") + f"#words-{language}-heading", 303)
