"""The dashboard (admins): how the campaign is going, the moderation queue and the outbox."""

from babel.numbers import format_compact_decimal
from flask import flash, redirect, render_template, url_for
from flask_babel import format_number, get_locale, ngettext

from blueprints.admin import admin_only, bp
from models import utcnow
from staff import dashboard


@bp.get("/dashboard", endpoint="dashboard")
@admin_only
def show():
    return render_template("admin/dashboard.html", figures=dashboard.figures(), now=utcnow())


@bp.post("/dashboard/retry-dead", endpoint="dashboard_retry_dead")
@admin_only
def retry_dead():
    """Give every dead email a fresh start (after fixing what killed them, say the SMTP
    settings); audited as outbox.retry_dead."""
    count = dashboard.retry_dead_emails()
    flash(
        ngettext(
            "%(count)s dead email is queued again.",
            "%(count)s dead emails are queued again.",
            count,
            count=format_number(count),
        )
    )
    return redirect(url_for("admin.dashboard"), 303)


@bp.app_template_filter("compact_number")
def compact_number(value):
    """Short axis labels (2K, 1.5M) that fit beside the chart on a phone."""
    return format_compact_decimal(value, locale=get_locale(), fraction_digits=1)
