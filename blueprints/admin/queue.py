"""The moderation queue's page and forms: parse the request, call moderation/, render.

Every form is a plain POST that redirects back to the queue with its filters (the result
and the Undo button ride in the session to the next page view). htmx sends the same
forms in the background; it gets the toast, and the letters that changed as out-of-band
swaps, so the page updates in place.
"""

import time
from urllib.parse import parse_qs, urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict

from blueprints.admin import bp
from blueprints.shared import local_path
from moderation import decisions
from moderation import queue as moderation
from moderation.flags import FLAGS, LABELS
from web.htmx import is_htmx

MAX_SELECTED = 200  # letters in one bulk decision: more than a page, fewer than a mistake


@bp.app_template_filter("queue_time")
def queue_time(value):
    """Times in the queue: short, in UTC like every stored time."""
    return format_datetime(value, "d MMM y, HH:mm 'UTC'") if value else ""


@bp.get("/queue")
def queue():
    """The queue: pending letters (claimed for this moderator as they are shown) or decided ones."""
    filters = moderation.Filters.parse(request.args)
    page = moderation.queue_page(current_user, filters, current_app.config["QUEUE_PAGE_SIZE"])
    cases, languages = moderation.filter_choices()
    return render_template(
        "admin/queue.html",
        page=page,
        filters=filters,
        here=url_for("admin.queue", **filters.args()),
        toast=take_toast(),
        undo_seconds=current_app.config["QUEUE_UNDO_SECONDS"],
        cases=cases,
        languages=languages,
        flags=[(flag, LABELS[flag]) for flag in FLAGS],
        **item_context(),
    )


def item_context():
    """What every queue item needs, for the queue page and for the items htmx swaps in
    after a decision: its texts, translated once for the whole page, the reject reasons
    and the form's token."""
    texts = {
        "kinds": {"solidarity": _("Solidarity message"), "appeal": _("Appeal")},
        "states": {"pending": _("Pending"), "approved": _("Approved"), "rejected": _("Rejected")},
        "done": _("%(kind)s #%(id)s for %(case)s"),
        "for_case": _("for %(case)s"),
        "message": _("message #%(id)s"),
        "select": _("Select"),
        "flags": _("Automatic flags"),
        "refused": _("Not changed: another moderator is reviewing this message."),
        "approve": _("Approve"),
        "reject": _("Reject…"),
        "why": _("Why reject message #%(id)s?"),
        "note": _("Note for the audit log (optional)"),
        "reject_n": _("Reject message #%(id)s"),
        "reopen": _("Re-open"),
        "change_reason": _("Change reason…"),
        "why_now": _("Another reason for message #%(id)s"),
        "reason_n": _("Change the reason of message #%(id)s"),
        "keys_hint": _("Keys: 1–9 choose a reason, Enter confirms, Escape cancels."),
        "cancel": _("Cancel"),
    }
    return {
        "texts": texts,
        "reasons": moderation.active_reasons(),
        "flag_labels": {flag: str(label) for flag, label in LABELS.items()},
        "decide_url": url_for("admin.queue_decide"),
        "reopen_url": url_for("admin.queue_reopen"),
        "reason_url": url_for("admin.queue_reason"),
        "csrf": generate_csrf(),
    }


@bp.post("/queue/decisions")
def queue_decide():
    """Approve or reject one letter (its own buttons) or the selected ones (bulk)."""
    back = back_path()
    decision = request.form.get("decision", "")
    letter_ids = ids(request.form.getlist("letter"))
    try:
        outcome = decisions.decide(
            current_user,
            letter_ids,
            decision,
            reason_id=request.form.get("reason", type=int),
            note=request.form.get("note", ""),
        )
    except decisions.QueueError as problem:
        return answer(back, problem_message(problem.code), status=422, problem=True)
    message = decision_message(decision, outcome)
    left = outcome.refused + outcome.delivered  # held by another, or delivered: unchanged
    status = 409 if left and not outcome.decided else 200
    return answer(
        back,
        message,
        status=status,
        problem=bool(left),
        events=outcome.events,
        letter_ids=outcome.decided + left,
        refused=outcome.refused,
    )


@bp.post("/queue/undo")
def queue_undo():
    """Put back the letters of this moderator's last decision, within the undo window."""
    back = back_path()
    try:
        restored = decisions.undo(current_user, ids(request.form.getlist("event")))
    except decisions.QueueError as problem:
        return answer(back, problem_message(problem.code), status=409, problem=True)
    message = ngettext(
        "Undone: the message is back in the queue.",
        "Undone: %(num)d messages are back in the queue.",
        len(restored),
    )
    return answer(back, message, letter_ids=restored, restored=True)


@bp.post("/queue/reopen")
def queue_reopen():
    """A decided letter back to pending, held by this moderator (from its list)."""
    back = back_path()
    try:
        outcome = decisions.reopen(current_user, ids(request.form.getlist("letter")))
    except decisions.QueueError as problem:
        return answer(back, problem_message(problem.code), status=422, problem=True)
    done = ngettext(
        "Re-opened %(num)d message: it is pending again, held for you under Pending.",
        "Re-opened %(num)d messages: they are pending again, held for you under Pending.",
        len(outcome.decided),
    )
    return changed_answer(back, outcome, done, reopened=outcome.decided)


@bp.post("/queue/reason")
def queue_reason():
    """Another reason for rejected letters."""
    back = back_path()
    try:
        outcome = decisions.change_reason(
            current_user,
            ids(request.form.getlist("letter")),
            request.form.get("reason", type=int),
        )
    except decisions.QueueError as problem:
        return answer(back, problem_message(problem.code), status=422, problem=True)
    done = ngettext(
        "Reason changed for %(num)d message: %(reason)s.",
        "Reason changed for %(num)d messages: %(reason)s.",
        len(outcome.decided),
        reason=outcome.reason,
    )
    return changed_answer(back, outcome, done)


def changed_answer(back, outcome, done, **context):
    """The answer to a re-open or a change of reason: what changed, what was refused."""
    parts = ([done] if outcome.decided else []) + refusals(outcome)
    if not parts:
        parts.append(_("Nothing was changed: the message is no longer in this list."))
    status = 409 if not outcome.decided else 200
    return answer(
        back,
        " ".join(parts),
        status=status,
        problem=bool(outcome.refused or outcome.delivered),
        letter_ids=outcome.decided + outcome.refused + outcome.delivered,
        refused=outcome.refused,
        **context,
    )


def refusals(outcome):
    """Why letters were left as they were: another moderator holds them, or they were
    delivered."""
    parts = []
    if outcome.refused:
        parts.append(
            ngettext(
                "%(num)d message was not changed: another moderator is reviewing it.",
                "%(num)d messages were not changed: another moderator is reviewing them.",
                len(outcome.refused),
            )
        )
    if outcome.delivered:
        parts.append(
            ngettext(
                "%(num)d message was not changed: it was already delivered.",
                "%(num)d messages were not changed: they were already delivered.",
                len(outcome.delivered),
            )
        )
    return parts


def ids(values):
    """Whole numbers from a form's repeated field, at most MAX_SELECTED of them."""
    return [int(value) for value in values if value.isdigit()][:MAX_SELECTED]


def back_path():
    """Where the form came from: a queue URL with its filters, never anywhere else."""
    target = local_path(request.form.get("next", ""))
    queue_path = url_for("admin.queue")
    if target and urlsplit(target).path == queue_path:
        return target
    return queue_path


def answer(back, message, status=200, problem=False, events=(), letter_ids=(), **context):
    """htmx: the toast, and the changed letters swapped in place. Without JavaScript: back
    to the queue page, which shows the same toast once."""
    undo_seconds = current_app.config["QUEUE_UNDO_SECONDS"]
    toast = {"message": message, "problem": problem, "events": list(events)}
    if not is_htmx():
        toast["until"] = time.time() + undo_seconds
        session["queue_toast"] = toast
        return redirect(back, 303)
    filters = moderation.Filters.parse(MultiDict(parse_qs(urlsplit(back).query)))
    body = render_template(
        "partials/_queue_answer.html",
        toast=toast,
        items=moderation.item_rows(list(letter_ids)),
        filters=filters,
        here=back,
        refused=context.get("refused", ()),
        restored=context.get("restored", False),
        reopened=context.get("reopened", ()),
        undo_seconds=undo_seconds,
        **item_context(),
    )
    response = current_app.response_class(body, status)
    response.vary.update(["HX-Request", "HX-Request-Type"])
    return response


def take_toast():
    """The result of the last form sent without JavaScript, shown once. Its Undo button
    is left out once the window has passed."""
    toast = session.pop("queue_toast", None)
    if toast and toast.get("until", 0) < time.time():
        toast["events"] = []
    return toast


def decision_message(decision, outcome):
    parts = []
    count = len(outcome.decided)
    if count and decision == "approve":
        parts.append(ngettext("Approved %(num)d message.", "Approved %(num)d messages.", count))
    elif count:
        parts.append(
            ngettext(
                "Rejected %(num)d message: %(reason)s.",
                "Rejected %(num)d messages: %(reason)s.",
                count,
                reason=outcome.reason,
            )
        )
    parts += refusals(outcome)
    if not parts:
        parts.append(_("Nothing was changed: the message is no longer in the queue."))
    return " ".join(parts)


def problem_message(code):
    messages = {
        "nothing-selected": _("Select at least one message first (x, or its Select box)."),
        "choose-reason": _("Choose a reason to reject."),
        "note-too-long": _(
            "Please keep the note under %(max)d characters.", max=decisions.NOTE_MAX
        ),
        "undo-expired": _(
            "Too late to undo. You can still change the decision: find the message under "
            "Approved or Rejected."
        ),
        "nothing-to-undo": _("Nothing to undo: that decision was already undone or changed."),
    }
    return messages.get(code, _("That did not work. Please try again."))
