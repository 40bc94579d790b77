"""Emailing a case update to the case's writers (admins): a preview per language, a test
send to oneself, the send itself behind a confirmation step, and its progress while the
mail worker sends (mail/news.py). The update's page (blueprints/admin/updates.py) shows
all of it through admin/partials/_news_send.html."""

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.admin import admin_only, bp
from blueprints.admin.cases import find_case
from blueprints.admin.updates import find_update
from mail import news, outbox
from models import Outbox
from web import locale
from web.htmx import is_htmx

BASE = "/cases/<int:case_id>/updates/<int:update_id>/email"
# The email preview, framed by the update's page only: its styles are the email's own
# inline ones, and the sandboxed frame runs nothing and loads nothing.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)


def the_update(case_id, update_id):
    return find_update(find_case(case_id), update_id)


def back_to(update):
    return redirect(
        url_for("admin.update_edit", case_id=update.case_id, update_id=update.id) + "#news-email",
        303,
    )


def chosen_language(value):
    if value not in current_app.config["LANGUAGES"]:
        abort(404)
    return value


def rendered(update, language):
    """(subject, text, html) of the update's email as writers in `language` get it."""
    email = Outbox(
        template=news.NEWS,
        recipient=current_user.email,
        case_update_id=update.id,
        language=language,
    )
    return outbox.render(email)


@bp.get(BASE + "/preview")
@admin_only
def news_preview(case_id, update_id):
    """The email in one language: its subject, the HTML version in a sandboxed frame, and
    the plain-text version."""
    update = the_update(case_id, update_id)
    language = chosen_language(request.args.get("lang", locale.DEFAULT))
    subject, text, _html = rendered(update, language)
    return render_template(
        "admin/news_preview.html",
        update=update,
        case=update.case,
        language=language,
        subject=subject,
        text=text,
    )


@bp.get(BASE + "/preview/<lang_code>.html")
@admin_only
def news_preview_html(case_id, update_id, lang_code):
    update = the_update(case_id, update_id)
    _subject, _text, html = rendered(update, chosen_language(lang_code))
    response = make_response(html)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.post(BASE + "/test")
@admin_only
def news_test(case_id, update_id):
    update = the_update(case_id, update_id)
    language = chosen_language(request.form.get("language", ""))
    news.test_send(update, current_user, language)
    flash(_("A test is on its way to %(address)s.", address=current_user.email))
    return back_to(update)


@bp.get(BASE + "/send")
@admin_only
def news_confirm(case_id, update_id):
    """The last step before sending: how many addresses, in which languages."""
    update = the_update(case_id, update_id)
    if update.emailed_at is not None:
        return back_to(update)
    return render_template(
        "admin/news_confirm.html",
        update=update,
        case=update.case,
        recipients=news.recipient_count(update.case_id),
    )


@bp.post(BASE + "/send")
@admin_only
def news_send(case_id, update_id):
    """Record the send: the mail worker queues the emails (mail/news.py), so this request
    ends at once whatever the number of writers."""
    update = the_update(case_id, update_id)
    try:
        news.queue_update(update, current_user)
    except news.NewsError as error:
        flash(str(error))
        return back_to(update)
    flash(_("Sending: the mail worker is preparing the emails, then sends them at the set rate."))
    return back_to(update)


@bp.post(BASE + "/stop")
@admin_only
def news_stop(case_id, update_id):
    """Stop a send: the emails not sent yet never go (audited)."""
    update = the_update(case_id, update_id)
    stopped = news.stop_sending(update, current_user)
    if stopped is None:
        flash(_("Nothing was left to stop: no email of this update is waiting to be sent."))
    else:
        flash(
            ngettext(
                "Sending stopped: %(count)s email will not be sent.",
                "Sending stopped: %(count)s emails will not be sent.",
                stopped,
                count=format_decimal(stopped),
            )
        )
    return back_to(update)


@bp.get(BASE + "/progress")
@admin_only
def news_progress(case_id, update_id):
    """The progress bar, which htmx asks for every 2 seconds while emails are left to
    send; without JavaScript, the update's page (reloaded) shows it."""
    update = the_update(case_id, update_id)
    if not is_htmx():
        return back_to(update)
    response = make_response(
        render_template("admin/partials/_news_progress_poll.html", update=update)
    )
    response.vary.update(["HX-Request", "HX-Request-Type"])
    return response


@bp.context_processor
def news_email_helpers():
    """What admin/partials/_news_send.html asks for about an update, computed only where
    a page includes it: how many addresses would get it, and the send's progress."""
    return {
        "news_recipients": lambda update: news.recipient_count(update.case_id),
        "news_progress": news.progress,
        "news_languages": current_app.config["LANGUAGES"],
    }
