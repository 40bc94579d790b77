"""Operator commands: `flask --app app seed | mail-worker | outbox ...`."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup, with_appcontext

import outbox
from demo_campaign import ADDRESS_TBC, CASES
from extensions import begin_write, db
from models import Case


@click.command("seed")
@with_appcontext
def seed_command():
    """Load the demo campaign. Adds missing cases; never changes or duplicates existing ones."""
    begin_write()
    existing = set(db.session.scalars(sa.select(Case.slug)))
    added = [data["slug"] for data in CASES if data["slug"] not in existing]
    for data in CASES:
        if data["slug"] not in existing:
            db.session.add(Case(status="published", target_address=ADDRESS_TBC, **data))
    db.session.commit()
    click.echo(
        f"Demo campaign: {len(added)} case(s) added, {len(CASES) - len(added)} already there."
    )


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
    """How many emails are pending, sent and dead."""
    counts = outbox.status_counts()
    for state in ("pending", "sent", "dead"):
        click.echo(f"{state}: {counts.get(state, 0)}")
    for email in outbox.dead_emails():
        click.echo(f"  dead #{email.id} after {email.attempts} attempts: {email.last_error}")


@outbox_group.command("retry-dead")
def outbox_retry_dead():
    """Try every dead email again, from the first attempt."""
    click.echo(f"{outbox.retry_dead()} dead email(s) queued again.")


def register(app):
    for command in (seed_command, mail_worker_command, outbox_group):
        app.cli.add_command(command)
