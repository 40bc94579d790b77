"""The queue's Groups view: letters that share a text, listed largest first, and one
decision over a whole group (moderation/groups.py, group_decisions.py), with Undo.

Works as plain forms, like the queue: a decision redirects back to the group's page with
its toast. htmx sends the same forms in the background and gets the toast and the
group's decision area (swapped out of band) back.
"""

import re
import time
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import escape

from blueprints.admin import bp
from blueprints.admin.queue import MAX_SELECTED, ids, problem_message, take_toast
from blueprints.shared import local_path
from models import utcnow
from moderation import decisions, group_decisions, groups, similar
from moderation import queue as moderation
from moderation.flags import LABELS
from moderation.settings import setting
from web.htmx import is_htmx

KEY = re.compile(r"[0-9a-f]{16}")  # flags.fingerprint


@bp.app_template_global()
def queue_waiting():
    """{"messages": n, "groups": m} waiting in the queue, for its header."""
    return groups.waiting()


@bp.get("/queue/groups")
def queue_groups():
    """Groups of two or more pending letters, largest first, with the queue's filters."""
    filters = moderation.Filters.parse(request.args)
    filters = moderation.Filters(
        case_id=filters.case_id, kind=filters.kind, language=filters.language
    )
    page = request.args.get("page", "")
    page = int(page) if page.isdigit() and int(page) < 10_000 else 0
    found, more = groups.pending_groups(filters.case_id, filters.kind, filters.language, page)
    cases, languages = moderation.filter_choices()
    args = filters.args()
    return render_template(
        "admin/queue_groups.html",
        groups=found,
        filters=filters,
        page=page,
        first_rank=page * groups.GROUPS_PAGE,
        more_url=url_for("admin.queue_groups", **args, page=page + 1) if more else None,
        back_url=url_for("admin.queue_groups", **args, page=page - 1) if page else None,
        toast=take_toast(),
        undo_seconds=current_app.config["QUEUE_UNDO_SECONDS"],
        cases=cases,
        languages=languages,
    )


@bp.get("/queue/groups/<key>")
def queue_group(key):
    """One group: its text, its near-copies with what differs, and the decision."""
    found = known_group(key)
    after = request.args.get("after", "")
    return render_template(
        "admin/queue_group.html",
        toast=take_toast(),
        undo_seconds=current_app.config["QUEUE_UNDO_SECONDS"],
        **group_context(found, int(after) if after.isdigit() else None),
    )


def known_group(key):
    found = groups.group(key) if KEY.fullmatch(key) else None
    if found is None:
        abort(404)
    return found


def group_context(found, after=None):
    """What the group's decision area needs (the page, and htmx's answers)."""
    near, next_after = groups.near_copies(found.key, after, MAX_SELECTED)
    now = utcnow()
    return {
        "group": found,
        "near": [
            {
                "row": row,
                "diff": diff(found.text, row.body),
                "held": row.claimed_by_id not in (None, current_user.id)
                and row.claimed_until is not None
                and row.claimed_until >= now,
            }
            for row in near
        ],
        "after": after,
        "next_url": url_for("admin.queue_group", key=found.key, after=next_after)
        if next_after
        else None,
        "here": url_for("admin.queue_group", key=found.key, after=after),
        "reasons": moderation.active_reasons(),
        "flag_labels": {flag: str(label) for flag, label in LABELS.items()},
        "arrival": arrival_text(found),
    }


def diff(group_text, text):
    """The near-copy with what differs from the group's text marked (moderation.similar),
    or just the text, escaped, where that is not available."""
    marked = getattr(similar, "diff_html", None)
    return marked(group_text, text) if marked else escape(text)


def arrival_text(found):
    """What happens to copies of this text arriving after the group's decision."""
    if found.decision == "rejected":
        return _("Copies arriving now are rejected on arrival: %(reason)s.", reason=found.reason)
    if found.decision == "approved":
        name = "auto_approve_suggested" if found.suggested else "auto_approve_other"
        if setting(name):
            return _("Copies arriving now are approved on arrival.")
        return _("Copies arriving now wait in the queue (an admin setting).")
    return ""


@bp.post("/queue/groups/<key>/decision")
def queue_group_decide(key):
    """Approve or reject the whole group: its exact copies and the near-copies ticked."""
    if not KEY.fullmatch(key):
        abort(404)
    back = url_for("admin.queue_group", key=key)
    decision = request.form.get("decision", "")
    try:
        outcome = group_decisions.decide_group(
            current_user,
            key,
            decision,
            reason_id=request.form.get("reason", type=int),
            near_ids=ids(request.form.getlist("letter")),
        )
    except decisions.QueueError as problem:
        return answer(back, key, group_problem(problem.code), status=422, problem=True)
    return answer(back, key, decision_message(decision, outcome), events=[outcome.event])


@bp.post("/queue/groups/undo")
def queue_group_undo():
    """Put back every letter of this moderator's last group decision."""
    back = local_path(request.form.get("next", "")) or ""
    if not urlsplit(back).path.startswith(url_for("admin.queue")):
        back = url_for("admin.queue_groups")
    try:
        restored, key = group_decisions.undo_group(
            current_user, request.form.get("event", 0, type=int)
        )
    except decisions.QueueError as problem:
        return answer(back, None, problem_message(problem.code), status=409, problem=True)
    message = ngettext(
        "Undone: the message is back in the queue.",
        "Undone: %(count)s messages are back in the queue.",
        restored,
        count=format_number(restored),
    )
    return answer(back, key, message)


def answer(back, key, message, status=200, problem=False, events=()):
    """htmx: the toast, and the group's decision area swapped in place. Without
    JavaScript: back to the page, which shows the same toast once."""
    undo_seconds = current_app.config["QUEUE_UNDO_SECONDS"]
    toast = {
        "message": message,
        "problem": problem,
        "events": list(events),
        "undo_url": url_for("admin.queue_group_undo"),
    }
    if not is_htmx():
        toast["until"] = time.time() + undo_seconds
        session["queue_toast"] = toast
        return redirect(back, 303)
    found = groups.group(key) if key else None
    context = group_context(found) if found else {"here": back}
    body = render_template(
        "partials/_queue_group_answer.html", toast=toast, undo_seconds=undo_seconds, **context
    )
    response = current_app.response_class(body, status)
    response.vary.update(["HX-Request", "HX-Request-Type"])
    return response


def decision_message(decision, outcome):
    count = format_number(outcome.decided)
    if decision == "approve":
        parts = [
            ngettext(
                "Approved %(count)s message of this group.",
                "Approved %(count)s messages of this group.",
                outcome.decided,
                count=count,
            )
        ]
    else:
        parts = [
            ngettext(
                "Rejected %(count)s message of this group: %(reason)s.",
                "Rejected %(count)s messages of this group: %(reason)s.",
                outcome.decided,
                count=count,
                reason=outcome.reason,
            )
        ]
    if outcome.skipped:
        parts.append(
            ngettext(
                "%(count)s was left as it was: another moderator is reviewing it, or it "
                "was delivered.",
                "%(count)s were left as they were: another moderator is reviewing them, or "
                "they were delivered.",
                outcome.skipped,
                count=format_number(outcome.skipped),
            )
        )
    return " ".join(parts)


def group_problem(code):
    if code == "nothing-to-decide":
        return _(
            "Nothing was changed: no message of this group is waiting, or other moderators "
            "are reviewing them, or they were delivered."
        )
    return problem_message(code)
