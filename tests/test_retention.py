"""Retention, through `flask --app app retention` as an operator (or the mail worker, daily)
runs it: what goes, what stays, on which day, and that running it again does nothing."""

import os
import signal
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from factories import (
    AuditEventFactory,
    CaseCounterFactory,
    CaseFactory,
    LetterFactory,
    OutboxFactory,
    insert_letters,
)
from helpers import unreachable_database

import letters
from extensions import begin_write, db
from mail import cap, news, outbox, suppression
from models import (
    CaseUpdate,
    ContactConsent,
    DataLink,
    Letter,
    MailAddress,
    OfflineReport,
    Outbox,
    UsedFormToken,
    utcnow,
)
from offline import reports
from supporters import erase, retention

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
MARKER = "zephyrine"  # in the name, address, city and text of the writer to forget


def run(app):
    """`flask --app app retention`: its one line of output."""
    result = app.test_cli_runner().invoke(args=["retention"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def ago(delta):
    return utcnow() - delta


def unconfirmed(case_id, age, status="unconfirmed", **values):
    """A letter nobody confirmed, written `age` ago."""
    return LetterFactory(case_id=case_id, status=status, created_at=ago(age), **values)


def ids(model=Letter):
    return set(db.session.scalars(sa.select(sa.inspect(model).primary_key[0])))


def counted(case_id):
    """The case's public count, and its counted letters (the dashboard's figures)."""
    rows = sa.select(sa.func.count()).where(Letter.case_id == case_id, Letter.counted)
    return letters.case_count(case_id), db.session.scalar(rows)


def test_unconfirmed_letters_go_with_their_emails_after_confirm_max_age_days(app):
    with app.app_context():
        case = CaseFactory()
        CaseCounterFactory(case_id=case.id, count=1)
        confirmed = LetterFactory(case_id=case.id, created_at=ago(40 * DAY))
        before = counted(case.id)
        old = unconfirmed(case.id, 30 * DAY + MINUTE)
        old_email = OutboxFactory(letter_id=old.id, created_at=old.created_at)
        # The solidarity message sent in the same flow waits on the appeal's link.
        joined = unconfirmed(case.id, 30 * DAY, kind="solidarity", confirm_with_id=old.id)
        repeat = unconfirmed(case.id, 31 * DAY, status="repeat")
        repeat_email = OutboxFactory(
            letter_id=repeat.id, template="repeat", state="capped", created_at=repeat.created_at
        )
        young = unconfirmed(case.id, 30 * DAY - MINUTE)
        # A new link asked for today: the daily cap counts that email through its letter.
        asked_today = unconfirmed(case.id, 35 * DAY, email="asked@example.org")
        OutboxFactory(
            letter_id=asked_today.id, template="resend", created_at=ago(timedelta(hours=2))
        )
        gone = {old.id, joined.id, repeat.id}
        kept = {confirmed.id, young.id, asked_today.id}
        emails_gone = {old_email.id, repeat_email.id}
        case_id = case.id
        in_the_cap = cap.emails_today("asked@example.org")

    assert run(app) == "retention: 3 unconfirmed letters deleted"
    with app.app_context():
        assert ids() == kept and not ids() & gone
        assert not ids(Outbox) & emails_gone
        assert counted(case_id) == before
        assert cap.emails_today("asked@example.org") == in_the_cap == 1
    assert run(app) == "retention: nothing to do"


@pytest.mark.parametrize("keep_days", [7, 3])
def test_sent_emails_go_after_outbox_keep_days(make_app, keep_days):
    app = make_app(OUTBOX_KEEP_DAYS=keep_days)
    keep = timedelta(days=keep_days)
    with app.app_context():
        letter = LetterFactory()
        OutboxFactory(letter_id=letter.id, created_at=ago(keep + DAY), sent_at=ago(keep + MINUTE))
        recent = OutboxFactory(letter_id=letter.id, sent_at=ago(keep - MINUTE))
        # Not sent: a pending email still to go, and a dead one an operator may retry
        # (written long ago, last tried lately).
        pending = OutboxFactory(letter_id=letter.id, state="pending", created_at=ago(keep * 3))
        dead = OutboxFactory(
            letter_id=letter.id,
            state="dead",
            created_at=ago(keep * 3),
            next_attempt_at=ago(keep - MINUTE),
        )
        staff = OutboxFactory(
            letter_id=None, recipient="staff@example.org", template="staff_invite"
        )
        staff.sent_at = ago(keep * 2)
        db.session.commit()
        kept, letter_id = {recent.id, pending.id, dead.id}, letter.id

    assert run(app) == "retention: 2 sent emails deleted"
    with app.app_context():
        assert ids(Outbox) == kept
        assert ids() == {letter_id}  # the letter stays: only its emails went
    assert run(app) == "retention: nothing to do"


@pytest.mark.parametrize("setting", [0, 1])
def test_sent_emails_the_daily_cap_still_counts_stay_whatever_the_setting(make_app, setting):
    """OUTBOX_KEEP_DAYS under 2 counts as 2: the cap counts the last 24 hours' emails."""
    app = make_app(OUTBOX_KEEP_DAYS=setting)
    with app.app_context():
        letter = unconfirmed(CaseFactory().id, timedelta(hours=30), email="capped@example.org")
        counted_today = OutboxFactory(letter_id=letter.id, created_at=ago(timedelta(hours=23)))
        yesterday = OutboxFactory(letter_id=letter.id, created_at=ago(timedelta(hours=30)))
        too_old = OutboxFactory(letter_id=letter.id, created_at=ago(2 * DAY + MINUTE))
        assert cap.emails_today("capped@example.org") == 1
        kept, gone = {counted_today.id, yesterday.id}, too_old.id

    assert run(app) == "retention: 1 sent email deleted"
    with app.app_context():
        assert ids(Outbox) == kept and gone not in ids(Outbox)
        assert cap.emails_today("capped@example.org") == 1


def news_send(addresses):
    """A case update emailed to the writers of `addresses` (a confirmed letter each, to
    one case), as the mail worker queues it (mail/news.py): the update, and its pending
    news rows by address."""
    case = CaseFactory()
    update = CaseUpdate(
        case_id=case.id,
        title="Released",
        body="He is free.",
        happened_on=date(2026, 11, 20),
        published_at=utcnow(),
        emailed_at=utcnow(),
        recipients={"en": len(addresses)},
    )
    db.session.add(update)
    db.session.commit()
    rows = {
        address: OutboxFactory(
            letter_id=LetterFactory(case_id=case.id, email=address).id,
            template=news.NEWS,
            state="pending",
            priority=news.PRIORITY,
            case_update_id=update.id,
            language="en",
        )
        for address in addresses
    }
    return update, rows


def outbox_rows():
    """{id: (recipient, state)} of every email in the outbox."""
    rows = db.session.execute(sa.select(Outbox.id, Outbox.recipient, Outbox.state))
    return {id_: (recipient, state) for id_, recipient, state in rows}


def test_unsent_emails_lose_their_address_after_outbox_keep_days(make_app):
    """Dead, capped and suppressed emails are deleted OUTBOX_KEEP_DAYS after they were
    written and last tried; case news keeps its rows without the address, so the send's
    figures (mail/news.progress) stay what they were."""
    app = make_app(OUTBOX_KEEP_DAYS=7)
    old, lately = ago(8 * DAY), ago(6 * DAY)
    with app.app_context():
        addresses = [f"zephyrine.{n}@example.org" for n in range(5)]
        update, rows = news_send(addresses)
        for address, state, when in zip(
            addresses,
            ["sent", "dead", "suppressed", "pending", "suppressed"],
            [old, old, old, old, lately],
            strict=True,
        ):
            row = rows[address]
            row.state, row.created_at, row.next_attempt_at = state, when, when
            row.sent_at = when if state == "sent" else None
        letter = LetterFactory(email="zephyrine@example.org")
        gone = [
            OutboxFactory(letter_id=letter.id, state=state, created_at=old).id
            for state in ("dead", "capped", "suppressed")
        ]
        news_test = OutboxFactory(
            letter_id=None,
            recipient="staff.zephyrine@example.org",
            template="news_test",
            case_update_id=update.id,
            state="dead",
            created_at=old,
        )
        tried_lately = OutboxFactory(
            letter_id=letter.id, state="dead", created_at=old, next_attempt_at=lately
        )
        capped_today = OutboxFactory(letter_id=letter.id, template="repeat", state="capped")
        db.session.commit()
        young = {tried_lately.id, capped_today.id, rows[addresses[3]].id, rows[addresses[4]].id}
        figures = news.progress(update)
        assert figures["total"] == {
            "queued": 5,
            "sent": 1,
            "failed": 1,
            "skipped": 2,
            "pending": 1,
        }
        news_ids = {address: row.id for address, row in rows.items()}
        everything = outbox_rows()
        gone += [news_test.id, news_ids[addresses[0]]]
        update_id = update.id

    assert run(app) == "retention: 1 sent email deleted, 6 unsent emails erased"
    with app.app_context():
        dead, suppressed = news_ids[addresses[1]], news_ids[addresses[2]]
        expected = {key: everything[key] for key in everything if key not in gone}
        expected[dead] = (f"erased:{dead}", "dead")
        expected[suppressed] = (f"erased:{suppressed}", "suppressed")
        assert outbox_rows() == expected
        # Untouched: the news still to send, and emails written or tried within the week.
        assert {key: expected[key] for key in young} == {key: everything[key] for key in young}
        assert news.progress(db.session.get(CaseUpdate, update_id)) == figures
    assert run(app) == "retention: nothing to do"


def test_an_erased_address_s_case_news_is_never_sent_nor_counted_as_sent(app):
    """Erasing an address (supporters/erase.py) keeps its news rows without the address:
    deleted, a row not sent yet would count as sent in the send's figures."""
    with app.app_context():
        update, rows = news_send(["zephyrine@example.org", "other@example.org"])
        mine, theirs = rows["zephyrine@example.org"], rows["other@example.org"]
        theirs.state, theirs.sent_at = "sent", utcnow()
        db.session.commit()
        begin_write()
        erased = erase.erase_address("zephyrine@example.org")
        db.session.commit()
        assert erased["emails"] == 1 and erased["letters_anonymised"] == 1
        assert outbox_rows() == {
            mine.id: (f"erased:{mine.id}", "suppressed"),  # never sent: skipped
            theirs.id: ("other@example.org", "sent"),
        }
        assert news.progress(update)["total"] == {
            "queued": 2,
            "sent": 1,
            "failed": 0,
            "skipped": 1,
            "pending": 0,
        }
        assert not outbox.send_due()[0]
        assert every_text_mentioning(MARKER) == {}


def test_the_scan_reads_json_columns_too(app):
    """So that the scans above cannot miss a name kept in a JSON column."""
    with app.app_context():
        AuditEventFactory(details={"writer": "Zephyrine Quill"})
        assert every_text_mentioning(MARKER) == {"audit_events.details": 1}


def every_text_mentioning(marker):
    """{table.column: rows} of every text and JSON column in the database that holds
    `marker` (lower-case)."""
    found = {}
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.String | sa.JSON):  # Text is a String too
                text = sa.func.lower(sa.cast(column, sa.Text))
                query = sa.select(sa.func.count()).where(text.contains(marker))
                if count := db.session.scalar(query):
                    found[f"{table.name}.{column.name}"] = count
    return found


def marked_writer(case_id, **values):
    """A letter from the marker writer: their name, address and city, and their words."""
    writer = {
        "name": "Zephyrine Quill",
        "email": "Zephyrine.Quill@example.org",
        "city": "Zephyrine-sur-Mer",
        "body": "Zephyrine writes: release him.",
    }
    return LetterFactory(case_id=case_id, **(writer | values))


def test_a_closed_case_s_writers_are_anonymised_after_retention_days_after_close(app):
    with app.app_context():
        closed = CaseFactory(status="closed", closed_at=ago(180 * DAY + MINUTE))
        CaseCounterFactory(case_id=closed.id, count=2)
        appeal = marked_writer(closed.id)
        message = marked_writer(closed.id, kind="solidarity", moderation="approved")
        waiting = marked_writer(closed.id, status="unconfirmed", counted=False)
        OutboxFactory(letter_id=appeal.id, created_at=ago(200 * DAY))
        news_row = OutboxFactory(letter_id=message.id, template="news", state="suppressed")
        db.session.add(
            ContactConsent(
                email_key="zephyrine.quill@example.org",
                email="Zephyrine.Quill@example.org",
                name="Zephyrine Quill",
                privacy_version="2026-12-05",
            )
        )
        # Closed for a day less than that, and open: their writers are kept as they are.
        lately = CaseFactory(status="closed", closed_at=ago(180 * DAY - MINUTE))
        recent = marked_writer(lately.id, email="zephyrine.2@example.org")
        still_open = marked_writer(CaseFactory().id, email="zephyrine.3@example.org")
        db.session.commit()
        kept = {appeal.id, message.id, recent.id, still_open.id}
        closed_id, waiting_id, news_id = closed.id, waiting.id, news_row.id
        before = counted(closed_id)

    assert (
        run(app)
        == "retention: 1 unconfirmed letter deleted, 1 case's writers anonymised (2 letters)"
    )
    with app.app_context():
        assert ids() == kept and waiting_id not in ids()
        assert counted(closed_id) == before == (2, 2)  # the counts stay
        forgotten = db.session.scalars(sa.select(Letter).where(Letter.case_id == closed_id)).all()
        for letter in forgotten:
            assert (letter.name, letter.email, letter.city, letter.body) == ("", "", "", "")
            assert letter.email_key == f"erased:{letter.id}" and not letter.consent_contact
            assert letter.status == "confirmed" and letter.counted
        # The news row stays, for its send's figures (mail/news.progress), without the
        # address; the letter's own email went.
        rows = db.session.execute(sa.select(Outbox.id, Outbox.recipient, Outbox.state)).all()
        assert rows == [(news_id, f"erased:{news_id}", "suppressed")]
        # The marker is left only in the consent (until withdrawn), and in the letters of
        # the case closed a day less long ago and of the open case.
        assert every_text_mentioning(MARKER) == {
            "letters.name": 2,
            "letters.email": 2,
            "letters.email_key": 2,
            "letters.city": 2,
            "letters.body": 2,
            "contact_consents.email_key": 1,
            "contact_consents.email": 1,
            "contact_consents.name": 1,
        }
        consent = db.session.get(ContactConsent, "zephyrine.quill@example.org")
        assert consent.privacy_version == "2026-12-05"
    assert run(app) == "retention: nothing to do"


def test_a_closed_case_s_offline_report_photos_go_after_retention_days_after_close(app):
    """A photo of a stack of letters can show their writers' names: it goes with them. The
    report and its figures stay, still counted."""
    with app.app_context():
        folder = reports.photos_folder()
        os.makedirs(folder, exist_ok=True)

        def reported(case, photo):
            with open(os.path.join(folder, photo), "wb") as file:
                file.write(b"a photo of letters")
            report = OfflineReport(
                case_id=case.id,
                appeals=12,
                event="Stall",
                country="GB",
                held_on=date(2026, 11, 28),
                state="approved",
                photo=photo,
            )
            db.session.add(report)
            return report

        closed = CaseFactory(status="closed", closed_at=ago(180 * DAY + MINUTE))
        lately = CaseFactory(status="closed", closed_at=ago(180 * DAY - MINUTE))
        gone, kept = reported(closed, "stack-1.jpg"), reported(lately, "stack-2.jpg")
        db.session.commit()
        gone_id, kept_id = gone.id, kept.id

    assert run(app) == "retention: 1 offline report photo deleted"
    with app.app_context():
        assert sorted(os.listdir(folder)) == ["stack-2.jpg"]
        report = db.session.get(OfflineReport, gone_id)
        assert (report.photo, report.state, report.appeals) == (None, "approved", 12)
        assert db.session.get(OfflineReport, kept_id).photo == "stack-2.jpg"
    assert run(app) == "retention: nothing to do"


def test_a_reopened_case_keeps_its_writers(app):
    with app.app_context():
        case = CaseFactory(status="published", closed_at=None)
        letter_id = marked_writer(case.id, created_at=ago(400 * DAY)).id
    assert run(app) == "retention: nothing to do"
    with app.app_context():
        assert db.session.get(Letter, letter_id).name == "Zephyrine Quill"


def test_expired_links_and_spent_form_tokens_go(make_app):
    app = make_app(DATA_LINK_HOURS=24, DATA_ACCESS_MINUTES=30)
    with app.app_context():

        def link(created, expires, used=None):
            row = DataLink(
                email_key="ada@example.org",
                created_at=ago(created),
                expires_at=ago(expires),
                used_at=used and ago(used),
            )
            db.session.add(row)
            db.session.flush()
            return row

        expired = link(3 * DAY, 2 * DAY)
        opened_at_the_last_minute = link(DAY + 20 * MINUTE, 20 * MINUTE, used=21 * MINUTE)
        open_now = link(MINUTE, -DAY)
        # Expired already (a short DATA_LINK_HOURS), but the daily cap counts it today.
        short = link(timedelta(hours=2), timedelta(hours=1))
        db.session.add(
            Outbox(
                recipient="ada@example.org",
                template="data_link",
                state="dead",  # (a sent one would go with the sent emails)
                data_link_id=expired.id,
                created_at=ago(3 * DAY),
            )
        )
        db.session.add_all(
            [
                UsedFormToken(nonce="spent", expires_at=ago(MINUTE)),
                UsedFormToken(nonce="live", expires_at=ago(-MINUTE)),
            ]
        )
        db.session.commit()
        kept = {opened_at_the_last_minute.id, open_now.id, short.id}

    assert run(app) == ("retention: 1 expired link deleted, 1 spent form token deleted")
    with app.app_context():
        assert ids(DataLink) == kept
        assert not ids(Outbox)
        assert ids(UsedFormToken) == {"live"}
    assert run(app) == "retention: nothing to do"


def test_the_report_names_each_thing_with_its_number():
    done = {
        "unconfirmed": 3,
        "emails": 120,
        "cases": 2,
        "anonymised": 4000,
        "links": 5,
        "tokens": 0,
    }
    assert retention.report(done) == (
        "retention: 3 unconfirmed letters deleted, 120 sent emails deleted,"
        " 2 cases' writers anonymised (4,000 letters), 5 expired links deleted"
    )
    assert retention.report(dict.fromkeys(done, 0)) == "retention: nothing to do"


def test_many_letters_go_batch_by_batch_and_two_runs_at_once_take_each_once(app, monkeypatch):
    """Two workers (or the command beside a worker) running at once: every row goes once,
    neither fails, and together they report what went."""
    monkeypatch.setattr(retention, "BATCH", 50)
    with app.app_context():
        case = CaseFactory()
        insert_letters(600, case_id=case.id, status="unconfirmed", created_at=ago(40 * DAY))
        insert_letters(10, case_id=case.id, created_at=ago(40 * DAY))  # confirmed: kept
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                results.append(retention.apply())
                db.session.remove()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(done["unconfirmed"] for done in results) == 600
    with app.app_context():
        assert len(ids()) == 10
    assert run(app) == "retention: nothing to do"


def test_the_mail_worker_s_daily_run_survives_the_database_being_away(app, make_app, schema):
    down = make_app(SQLALCHEMY_DATABASE_URI=unreachable_database(schema))
    lines = []
    daily = retention.Daily()
    with down.app_context():
        daily.run_if_due(lines.append)  # no exception: the worker goes on
    assert lines == ["retention: failed (OperationalError); trying again within the hour"]
    hour_later = daily.next_run
    with app.app_context():
        daily.next_run = 0  # the hour has passed
        daily.run_if_due(lines.append)
        daily.run_if_due(lines.append)  # not due again before tomorrow
    assert lines[1:] == ["retention: nothing to do"]
    assert daily.next_run - hour_later > 20 * 3600


def test_the_mail_worker_sends_between_the_batches_of_a_long_retention_run(
    mail_app, smtp, monkeypatch
):
    """A large day's run (here 20 batches) is done a batch or so per pass of the worker:
    a confirmation link asked for while it runs goes at once, not after it."""
    monkeypatch.setattr(retention, "BATCH", 10)
    monkeypatch.setattr(retention, "PASS_SECONDS", 0)  # one batch per pass
    handlers = {}  # the worker's SIGTERM handler, to stop it as SIGTERM would
    monkeypatch.setattr(signal, "signal", lambda sig, handler: handlers.setdefault(sig, handler))
    old = ago(30 * DAY)
    with mail_app.app_context():
        letter = LetterFactory(email="writer@example.org", status="unconfirmed")
        backlog = {"recipient": "writer@example.org", "template": "confirm", "state": "sent"}
        times = {"created_at": old, "next_attempt_at": old, "sent_at": old}
        db.session.execute(sa.insert(Outbox), [backlog | times | {"letter_id": letter.id}] * 200)
        OutboxFactory(letter_id=letter.id, state="pending")
        letter_id = letter.id
    lines, left = [], []

    def log(line):
        lines.append(line)
        if line.startswith("mail-worker: sent 1,"):
            query = sa.select(sa.func.count()).where(Outbox.sent_at == old)
            left.append(db.session.scalar(query))
            if len(left) == 1:  # a new link, asked for while retention runs
                begin_write()
                link = Outbox(
                    recipient="writer@example.org", template="resend", letter_id=letter_id
                )
                db.session.add(link)
                db.session.commit()
        if line.startswith("retention:"):
            handlers[signal.SIGTERM](signal.SIGTERM, None)

    with mail_app.app_context():
        assert outbox.run_worker(poll_seconds=0.01, log=log) == (2, 0)
    assert left == [190, 180]  # each sent after one more batch of the run
    assert lines[-2:] == [
        "retention: 200 sent emails deleted",
        "mail-worker: stopped; emails not sent yet are back in the queue",
    ]
    assert len(smtp.messages) == 2


@pytest.mark.parametrize(
    ("since", "then"), [(31 * DAY, (None, 1)), (29 * DAY, ("soft_bounces", 3))]
)
def test_soft_bounces_count_again_from_one_after_a_month_without_one(make_app, since, then):
    """A mailbox full now and then over the years never adds up to MAIL_SOFT_BOUNCE_LIMIT:
    only soft bounces within SOFT_BOUNCE_DAYS of each other do."""
    app = make_app(MAIL_SOFT_BOUNCE_LIMIT=3)
    key = "0123456789abcdef0123456789abcdef"  # an address's keyed hash (address_key)

    def soft_bounce():
        begin_write()
        row = suppression.soft_bounce(key, "dsn")
        db.session.commit()
        return (row.suppressed_reason or None), row.soft_bounces

    with app.app_context():
        assert [soft_bounce(), soft_bounce()] == [(None, 1), (None, 2)]
        db.session.execute(sa.update(MailAddress).values(updated_at=ago(since)))
        db.session.commit()
        assert soft_bounce() == then


def test_two_workers_daily_runs_pass_by_pass_take_each_row_once(app, monkeypatch):
    """Two mail workers each doing their day's run a batch per pass, turn about: every row
    goes once, and their reports add up to what went."""
    monkeypatch.setattr(retention, "BATCH", 50)
    monkeypatch.setattr(retention, "PASS_SECONDS", 0)
    with app.app_context():
        case = CaseFactory()
        insert_letters(500, case_id=case.id, status="unconfirmed", created_at=ago(40 * DAY))
        lines = []
        workers = [retention.Daily(), retention.Daily()]
        for _pass in range(20):
            for daily in workers:
                daily.run_if_due(lines.append)
        assert lines == ["retention: 250 unconfirmed letters deleted"] * 2
        assert not ids()
