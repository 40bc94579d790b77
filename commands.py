"""Operator commands: `flask --app app seed | mail-worker | outbox ...`."""

import os

import click
import sqlalchemy as sa
from flask.cli import AppGroup, with_appcontext
from flask_babel import ngettext

import partners
from cases.demo import ADDRESS_TBC, demo_cases, fill_in
from cases.demo_outcomes import seed_outcomes
from cases.manage import forget_cached_pages
from extensions import begin_write, db
from mail import bounces, outbox
from models import ROLES, Case, StaffUser
from moderation.suggested import sync_case_texts
from staff import audit, two_factor
from staff.links import MIN_PASSWORD
from supporters import retention


@click.command("seed")
@with_appcontext
def seed_command():
    """Load the demo campaign, in every language cases/demo_texts/ has. Adds missing cases,
    never duplicates one; fills in an existing demo case's missing translations, never
    changing a text staff wrote."""
    begin_write()
    existing = {case.slug: case for case in db.session.scalars(sa.select(Case))}
    demo = demo_cases()
    added, filled = [], {}
    for data in demo:
        case = existing.get(data["slug"])
        if case is None:
            db.session.add(Case(status="published", target_address=ADDRESS_TBC, **data))
            added.append(data["slug"])
        elif found := fill_in(case, data):
            filled[case.slug] = found
    closed, closed_filled = seed_outcomes(existing)  # a closed case with its outcome
    filled.update(closed_filled)
    db.session.flush()  # new cases get their ids
    for case in db.session.scalars(sa.select(Case).where(Case.slug.in_([d["slug"] for d in demo]))):
        sync_case_texts(case)  # their texts as moderation groups (moderation/suggested.py)
    db.session.commit()
    if filled:
        forget_cached_pages()
    languages = sorted({code for data in demo for code in data["translations"]})
    click.echo(
        f"Demo campaign: {len(added)} case(s) added, {len(demo) - len(added)} already there;"
        f" languages besides English: {', '.join(languages) or 'none'}."
    )
    if closed:
        click.echo(f"Closed demo case with its outcome added: {', '.join(closed)}.")
    for slug, found in filled.items():
        click.echo(f"  {slug}: filled in {len(found)} missing: {', '.join(found)}.")


@click.command("mail-worker")
@click.option("--once", is_flag=True, help="Send everything due now, then exit.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between checks when idle.")
@with_appcontext
def mail_worker_command(once, poll):
    """Send queued emails until stopped (Ctrl-C or SIGTERM)."""
    sent, failed = outbox.run_worker(once=once, poll_seconds=poll, log=click.echo)
    if once:
        click.echo(f"mail-worker: {sent} sent, {failed} failed (will be retried).")


@click.group("outbox", cls=AppGroup)
def outbox_group():
    """Look after queued emails."""


@outbox_group.command("status")
def outbox_status():
    """How many emails are pending, sent and dead; and never sent: capped (over an
    address's daily cap) or suppressed (bounced, complained or, for news, unsubscribed)."""
    counts = outbox.status_counts()
    for state in ("pending", "sent", "dead", "capped", "suppressed"):
        click.echo(f"{state}: {counts.get(state, 0)}")
    for email in outbox.dead_emails():
        click.echo(f"  dead #{email.id} after {email.attempts} attempts: {email.last_error}")


@outbox_group.command("retry-dead")
def outbox_retry_dead():
    """Try every dead email again, from the first attempt."""
    count = outbox.retry_dead()
    click.echo(
        ngettext("%(num)d dead email queued again.", "%(num)d dead emails queued again.", count)
    )


@click.command("retention")
@with_appcontext
def retention_command():
    """Delete and anonymise what the site no longer needs (README, "Retention"). Safe to
    run again: a second run finds nothing to do. The mail worker runs it daily."""
    click.echo(retention.report(retention.apply()))


@click.group("mail", cls=AppGroup)
def mail_group():
    """Bounces and complaints that come back from sending."""


@mail_group.command("bounces")
@click.option(
    "--maildir", type=click.Path(exists=True, file_okay=False), help="A Maildir of bounces."
)
@click.option(
    "--imap", "imap_url", help="imaps://USER@HOST[:PORT]/FOLDER (MAIL_BOUNCE_IMAP_PASSWORD)."
)
def mail_bounces(maildir, imap_url):
    """Read bounces (delivery status notifications) and abuse reports, and stop emailing
    the addresses they name. Reports are deleted once recorded; other messages are kept,
    marked read and flagged for a person; a second run reads nothing twice."""
    if bool(maildir) == bool(imap_url):
        raise click.UsageError("Give either --maildir or --imap.")
    try:
        found = bounces.read_maildir(maildir) if maildir else bounces.read_imap(imap_url)
    except bounces.SourceError as error:
        raise click.ClickException(str(error)) from error
    click.echo(bounces.report(found))


@click.command("create-admin")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@with_appcontext
def create_admin_command(email, role):
    """Create a staff account (or set a new password and role for an existing one).

    The password is asked twice, or read from ADMIN_PASSWORD when that is set (scripts).
    """
    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("that is not an email address", param_hint="EMAIL")
    password = os.environ.get("ADMIN_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"Use a password of at least {MIN_PASSWORD} characters.")
    begin_write()
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    created = user is None
    if created:
        user = StaffUser(email=email)
        db.session.add(user)
    user.role, user.active = role, True
    user.set_password(password)  # also ends the account's sessions: new password, new role
    db.session.flush()
    audit.record("staff.create" if created else "staff.update", user, actor=None, role=role)
    db.session.commit()
    click.echo(f"{'Created' if created else 'Updated'} {role} {email}.")


@click.group("staff", cls=AppGroup)
def staff_group():
    """List and disable staff accounts."""


@staff_group.command("list")
def staff_list():
    """Every staff account, its role, whether it can sign in, and its second step."""
    for user in db.session.scalars(sa.select(StaffUser).order_by(StaffUser.email)):
        state = "active" if user.active else "disabled"
        last = (
            f"last sign-in {user.last_sign_in_at:%Y-%m-%d %H:%M}"
            if user.last_sign_in_at
            else "never signed in"
        )
        second = "two-factor set up" if two_factor.enrolled(user) else "no two-factor yet"
        click.echo(f"{user.email}\t{user.role}\t{state}\t{last}\t{second}")


@staff_group.command("disable")
@click.argument("email")
def staff_disable(email):
    """Stop an account signing in; its open sessions end at once."""
    begin_write()
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No staff account for {email}.")
    user.active = False
    user.end_sessions()  # for good: switching the account back on does not revive them
    audit.record("staff.disable", user, actor=None)
    db.session.commit()
    click.echo(f"Disabled {user.email}.")


@staff_group.command("reset-2fa")
@click.argument("email")
def staff_reset_2fa(email):
    """Forget an account's second factor (a lost phone): its app secret and recovery codes
    go, its open sessions end, and its next sign-in sets up an app again."""
    begin_write()
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No staff account for {email}.")
    two_factor.reset(user)
    user.end_sessions()
    audit.record("staff.reset_2fa", user, actor=None)
    db.session.commit()
    click.echo(f"Two-factor sign-in reset for {user.email}: the next sign-in sets up an app again.")


@click.group("partners", cls=AppGroup)
def partners_group():
    """Partner organisations that embed letter forms on their own sites."""


def partner_named(slug):
    partner = partners.find_partner(slug)
    if partner is None:
        raise click.ClickException(f"No partner {slug}: see `flask --app app partners list`.")
    return partner


@partners_group.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The organisation's name, shown in the form.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="A site allowed to show the form: https://host[:port]. Repeat for several.",
)
def partners_add(slug, name, origins):
    """Add a partner allowed to embed letter forms on the given origins."""
    try:
        partner = partners.add_partner(slug, name, origins)
    except partners.PartnerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Added {partner.slug} ({partner.name}), allowed on {' '.join(partner.origins)}.")
    click.echo(f"Stats link: {partners.stats_url(partner)}")


@partners_group.command("list")
def partners_list():
    """Every partner: slug, name, allowed origins and private stats link."""
    for partner in partners.active_partners():
        origins = " ".join(partner.origins)
        click.echo(f"{partner.slug}\t{partner.name}\t{origins}\t{partners.stats_url(partner)}")


@partners_group.command("remove")
@click.argument("slug")
def partners_remove(slug):
    """Stop a partner's embeds and stats link; its letters keep counting."""
    partner = partner_named(slug)
    deleted = partners.remove_partner(partner)
    kept = "" if deleted else " Its letters stay attributed to it in the figures."
    click.echo(f"Removed {slug}: its embedded forms and stats link no longer work.{kept}")


@partners_group.command("rotate")
@click.argument("slug")
def partners_rotate(slug):
    """Give a partner a new stats link; the old one stops working."""
    partner = partners.rotate_stats_link(partner_named(slug))
    click.echo(f"New stats link: {partners.stats_url(partner)}")


@partners_group.command("snippet")
@click.argument("slug")
@click.argument("case_slug")
@click.option("--lang", default="en", show_default=True, help="The letter's language.")
def partners_snippet(slug, case_slug, lang):
    """Print the HTML a partner pastes into its page to show a case's letter form."""
    partner = partner_named(slug)
    case = db.session.scalar(sa.select(Case).where(Case.slug == case_slug, Case.status != "draft"))
    if case is None:
        raise click.ClickException(f"No published case {case_slug}.")
    if lang not in (case.appeal_templates or {}):
        languages = ", ".join(sorted(case.appeal_templates or {}))
        raise click.ClickException(f"{case.name} has no letter in {lang!r}; it has: {languages}.")
    click.echo(partners.snippet(partner, case, lang))


def register(app):
    for command in (
        seed_command,
        mail_worker_command,
        outbox_group,
        retention_command,
        mail_group,
        create_admin_command,
        staff_group,
        partners_group,
    ):
        app.cli.add_command(command)
