"""Bounces that come back by email: delivery status notifications (RFC 3464) as Postfix and
Exim write them, and abuse reports (ARF), read from a Maildir by `flask --app app mail
bounces`, suppress the addresses they name (by the VERP return path the report came back
to), count soft bounces, leave other mail for a person, and read nothing twice. The IMAP
side, against a real Dovecot, is in test_bounces_imap.py."""

import mailbox
import secrets
from email.utils import make_msgid

import pytest
import sqlalchemy as sa
from helpers import Supporter

from extensions import db
from mail import bounces, suppression, unsubscribe, verp
from models import MailAddress, MailEvent, Outbox

BOUNCE_ADDRESS = "bounces@letters.example.org"
SENDER = "letters@letters.example.org"


@pytest.fixture
def app(make_app):
    return make_app(MAIL_BOUNCE_ADDRESS=BOUNCE_ADDRESS)


@pytest.fixture
def maildir(tmp_path):
    return mailbox.Maildir(tmp_path / "bounces", create=True)


def return_path(app, address):
    """The envelope sender (VERP) our email to `address` leaves with."""
    with app.app_context():
        return verp.verp_address(address)


def postfix_dsn(to, recipient, action="failed", status="5.1.1", delivered_to=None):
    """A Postfix bounce (or, with action "delayed", its delay warning), as delivered to
    the return path `to` by Postfix's local delivery (X-Original-To, Delivered-To)."""
    delivered_to = delivered_to or to
    subject, text = {
        "failed": ("Undelivered Mail Returned to Sender", "could not be delivered"),
        "delayed": ("Delayed Mail (still being retried)", "has been delayed"),
    }[action]
    return f"""Return-Path: <>
X-Original-To: {delivered_to}
Delivered-To: {delivered_to}
Received: by mx.example.net (Postfix) id 4ABCD1234; Sat,  5 Dec 2026 10:00:00 +0000 (UTC)
Date: Sat,  5 Dec 2026 10:00:00 +0000 (UTC)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: {subject}
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4ABCD1234.1764928800/mx.example.net"
Message-Id: {make_msgid("mx.example.net")}

This is a MIME-encapsulated message.

--4ABCD1234.1764928800/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message {text}
to one or more recipients.

<{recipient}>: host mx.example.net[192.0.2.10] said: 550 {status}
    <{recipient}>: Recipient address rejected: User unknown in local recipient
    table (in reply to RCPT TO command)

--4ABCD1234.1764928800/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4ABCD1234
X-Postfix-Sender: rfc822; {to}
Arrival-Date: Sat,  5 Dec 2026 09:59:58 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected:
    User unknown in local recipient table

--4ABCD1234.1764928800/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{to}>
From: Write for Rights <{SENDER}>
To: {recipient}
Subject: Please confirm your letter
Message-ID: {make_msgid("letters.example.org")}

--4ABCD1234.1764928800/mx.example.net--
""".encode()


def exim_dsn(to, recipient):
    """An Exim bounce, as Exim delivers it to the return path (Envelope-To)."""
    return f"""Return-path: <>
Envelope-to: {to}
Delivery-date: Sat, 05 Dec 2026 11:00:01 +0000
From: Mail Delivery System <Mailer-Daemon@mail.example.com>
To: {to}
References: <original@letters.example.org>
Content-Type: multipart/report; report-type=delivery-status; boundary=1764932401-eximdsn-1
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: {make_msgid("mail.example.com")}
Date: Sat, 05 Dec 2026 11:00:01 +0000

--1764932401-eximdsn-1
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mail.example.com [192.0.2.20]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 5.1.1 No such user here

--1764932401-eximdsn-1
Content-type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Action: failed
Final-Recipient: rfc822;{recipient}
Status: 5.0.0
Remote-MTA: dns; mail.example.com
Diagnostic-Code: smtp; 550 5.1.1 No such user here

--1764932401-eximdsn-1
Content-type: message/rfc822

Return-path: <{to}>
From: Write for Rights <{SENDER}>
To: {recipient}
Subject: News of the case you wrote to
Message-ID: <original@letters.example.org>

The news.

--1764932401-eximdsn-1--
""".encode()


def abuse_report(return_path_, recipient, feedback_type="abuse"):
    """An ARF report (RFC 5965) of a person marking our email as spam, sent to our bounce
    address; the original email it encloses carries our VERP Return-Path."""
    return f"""From: Feedback Loop <fbl@isp.example>
To: {BOUNCE_ADDRESS}
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf-part"
Message-ID: {make_msgid("isp.example")}

--arf-part
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.1.

--arf-part
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: ISP-FBL/1.0
Version: 1
Original-Mail-From: <{return_path_}>
Arrival-Date: Sat, 05 Dec 2026 12:00:00 +0000
Reported-Domain: letters.example.org

--arf-part
Content-Type: message/rfc822

Return-Path: <{return_path_}>
From: Write for Rights <{SENDER}>
To: {recipient}
Subject: News of the case you wrote to

The news.

--arf-part--
""".encode()


def out_of_office(to, sender):
    """A vacation reply: it goes to the return path too, and is no bounce."""
    return f"""Delivered-To: {to}
From: {sender}
To: {to}
Subject: Out of office
Auto-Submitted: auto-replied
Message-ID: {make_msgid("example.net")}

I am away until Monday and will read your message then.
""".encode()


def run(runner, maildir):
    result = runner.invoke(args=["mail", "bounces", "--maildir", maildir._path])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def address_state(app, address):
    """(suppressed reason or None, soft bounces, unsubscribed) of an address; None when the
    suppression list has never heard of it."""
    with app.app_context():
        row = suppression.known(address)
        if row is None:
            return None
        return (row.suppressed_reason if row.suppressed_at else None), row.soft_bounces


def events(app):
    with app.app_context():
        rows = db.session.execute(sa.select(MailEvent.kind, MailEvent.source)).all()
        return sorted(tuple(row) for row in rows)


def test_postfix_and_exim_bounces_suppress_and_a_second_run_reads_nothing(app, runner, maildir):
    jane, bob, carol, dave = (f"{n}@example.net" for n in ("jane", "bob", "carol", "dave"))
    maildir.add(postfix_dsn(return_path(app, jane), jane))
    maildir.add(exim_dsn(return_path(app, bob), bob))
    maildir.add(postfix_dsn(return_path(app, carol), carol, "delayed", "4.4.1"))
    kept = maildir.add(out_of_office(return_path(app, dave), dave))

    assert run(runner, maildir) == "bounces: 2 hard, 1 soft, 0 complaints, 1 not bounces"

    assert address_state(app, jane) == ("hard_bounce", 0)
    assert address_state(app, bob) == ("hard_bounce", 0)
    assert address_state(app, carol) == (None, 1)  # one soft bounce: still mailed
    assert address_state(app, dave) is None  # an out-of-office reply changes nothing
    with app.app_context():
        assert not suppression.may_send(jane) and not suppression.may_send(bob)
        assert suppression.may_send(carol) and suppression.may_send(dave)
    recorded = [("bounce", "dsn"), ("bounce", "dsn"), ("soft_bounce", "dsn")]
    assert events(app) == recorded
    # The reports are gone (they held the addresses in clear); the reply is kept for a
    # person, read and flagged, in cur/.
    assert list(maildir.keys()) == [kept]
    assert maildir.get_message(kept).get_subdir() == "cur"
    assert maildir.get_message(kept).get_flags() == "FS"

    assert run(runner, maildir) == "bounces: 0 hard, 0 soft, 0 complaints, 0 not bounces"
    assert events(app) == recorded
    assert address_state(app, carol) == (None, 1)


def test_the_return_path_names_the_address_not_a_forwarding_final_recipient(app, runner, maildir):
    # We wrote to ada@example.org, which forwards to ada.old@example.net, which bounced:
    # the report names the latter, and came back to the former's VERP return path.
    maildir.add(postfix_dsn(return_path(app, "ada@example.org"), "ada.old@example.net"))
    assert run(runner, maildir) == "bounces: 1 hard, 0 soft, 0 complaints, 0 not bounces"
    assert address_state(app, "ADA@example.org") == ("hard_bounce", 0)
    assert address_state(app, "ada.old@example.net") is None


def kept_for_a_person(maildir, kept):
    """The messages are all still there, read and flagged in cur/."""
    assert sorted(maildir.keys()) == sorted(kept)
    for key in kept:
        assert maildir.get_message(key).get_subdir() == "cur"
        assert maildir.get_message(key).get_flags() == "FS"


def test_with_verp_a_report_without_our_return_path_is_kept_and_records_nothing(
    app, runner, maildir
):
    # Sent before MAIL_BOUNCE_ADDRESS was set, or to the plain address: no key in it.
    kept = [maildir.add(postfix_dsn(BOUNCE_ADDRESS, "old@example.net"))]
    kept.append(maildir.add(exim_dsn("someone+0123@elsewhere.example", "other@example.net")))
    assert run(runner, maildir) == (
        "bounces: 0 hard, 0 soft, 0 complaints, 0 not bounces; "
        "2 reports without our return path, kept for a person"
    )
    assert address_state(app, "old@example.net") is None
    assert address_state(app, "other@example.net") is None
    assert events(app) == []
    kept_for_a_person(maildir, kept)


@pytest.fixture
def no_verp(make_app):
    """A site without MAIL_BOUNCE_ADDRESS: no key to check, reports taken at their word."""
    return make_app()


def test_without_verp_a_report_is_taken_at_its_word(no_verp, maildir):
    runner = no_verp.test_cli_runner()
    maildir.add(postfix_dsn(BOUNCE_ADDRESS, "old@example.net"))
    maildir.add(exim_dsn("someone+0123@elsewhere.example", "other@example.net"))
    assert run(runner, maildir) == "bounces: 2 hard, 0 soft, 0 complaints, 0 not bounces"
    assert address_state(no_verp, "old@example.net") == ("hard_bounce", 0)
    assert address_state(no_verp, "other@example.net") == ("hard_bounce", 0)


def several_recipients(blocks):
    """One Postfix report about several recipients: [(address, action)]."""
    report = postfix_dsn(BOUNCE_ADDRESS, "x@example.net").decode()
    status = "".join(
        f"Final-Recipient: rfc822; {address}\nAction: {action}\nStatus: 5.1.1\n\n"
        for address, action in blocks
    )
    start = report.index("Final-Recipient: rfc822; x@example.net")
    end = report.index("--4ABCD1234", start)
    return (report[:start] + status + report[end:]).encode()


def test_without_verp_a_report_for_several_recipients_counts_each_once(no_verp, maildir):
    # One email to several recipients, bounced by a server that reports them together:
    # one failed, one delayed, and one both failed and delayed (the failure counts).
    blocks = [("a@example.net", "failed"), ("b@example.net", "delayed")]
    blocks += [("c@example.net", "delayed"), ("c@example.net", "failed")]
    maildir.add(several_recipients(blocks))
    runner = no_verp.test_cli_runner()
    assert run(runner, maildir) == "bounces: 2 hard, 1 soft, 0 complaints, 0 not bounces"
    assert address_state(no_verp, "a@example.net") == ("hard_bounce", 0)
    assert address_state(no_verp, "b@example.net") == (None, 1)
    assert address_state(no_verp, "c@example.net") == ("hard_bounce", 0)
    assert address_state(no_verp, "x@example.net") is None


def test_without_verp_a_report_naming_many_addresses_is_kept_for_a_person(no_verp, maildir):
    victims = [f"victim{n}@example.net" for n in range(bounces.MAX_UNKEYED + 1)]
    kept = [maildir.add(several_recipients([(v, "failed") for v in victims]))]
    assert run(no_verp.test_cli_runner(), maildir) == (
        "bounces: 0 hard, 0 soft, 0 complaints, 0 not bounces; "
        "1 reports without our return path, kept for a person"
    )
    assert [address_state(no_verp, v) for v in victims] == [None] * len(victims)
    kept_for_a_person(maildir, kept)


def test_soft_bounces_suppress_at_the_limit(app, runner, maildir):
    address = "full.mailbox@example.net"
    for _ in range(2):
        maildir.add(postfix_dsn(return_path(app, address), address, "delayed", "4.2.2"))
    assert run(runner, maildir) == "bounces: 0 hard, 2 soft, 0 complaints, 0 not bounces"
    assert address_state(app, address) == (None, 2)
    maildir.add(postfix_dsn(return_path(app, address), address, "delayed", "4.2.2"))
    assert run(runner, maildir) == "bounces: 0 hard, 1 soft, 0 complaints, 0 not bounces"
    assert app.config["MAIL_SOFT_BOUNCE_LIMIT"] == 3
    assert address_state(app, address) == ("soft_bounces", 3)
    with app.app_context():
        assert not suppression.may_send(address)


def test_an_abuse_report_is_a_complaint_and_other_feedback_is_not(app, runner, maildir):
    grace, hal = "grace@example.net", "hal@example.net"
    maildir.add(abuse_report(return_path(app, grace), grace))
    maildir.add(abuse_report(return_path(app, hal), hal, feedback_type="not-spam"))
    assert run(runner, maildir) == "bounces: 0 hard, 0 soft, 1 complaints, 1 not bounces"
    assert address_state(app, grace) == ("complaint", 0)
    assert address_state(app, hal) is None
    assert events(app) == [("complaint", "arf")]


def plain_email_listing(addresses):
    """What anyone can send to the bounce address: no report, only text that reads like
    one (flufl.bounce's simple matches would take it for a bounce)."""
    listed = "\n".join(f"<{address}>" for address in addresses)
    return (
        f"From: attacker@evil.example\nTo: {BOUNCE_ADDRESS}\nSubject: hello\n\n"
        f"The following addresses had permanent fatal errors\n{listed}\n"
    ).encode()


def hand_made_abuse_report(recipient):
    """An ARF report anyone can write, with no return path of ours in it."""
    return f"""From: attacker@evil.example
To: {BOUNCE_ADDRESS}
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: text/plain

spam
--b
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: x
Version: 1
Original-Rcpt-To: {recipient}

--b--
""".encode()


@pytest.mark.parametrize("verp_on", [True, False], ids=["verp", "no verp"])
def test_an_email_that_only_reads_like_a_bounce_suppresses_nobody(make_app, maildir, verp_on):
    app = make_app(MAIL_BOUNCE_ADDRESS=BOUNCE_ADDRESS if verp_on else "")
    victims = [f"victim{n}@example.org" for n in range(3)]
    kept = [maildir.add(plain_email_listing(victims))]
    output = run(app.test_cli_runner(), maildir)
    assert output == "bounces: 0 hard, 0 soft, 0 complaints, 1 not bounces"
    assert [address_state(app, v) for v in victims] == [None, None, None]
    kept_for_a_person(maildir, kept)


def test_with_verp_a_hand_made_abuse_report_suppresses_nobody(app, runner, maildir):
    kept = [maildir.add(hand_made_abuse_report("staff-or-supporter@example.org"))]
    assert run(runner, maildir).endswith("; 1 reports without our return path, kept for a person")
    assert address_state(app, "staff-or-supporter@example.org") is None
    assert events(app) == []
    kept_for_a_person(maildir, kept)


def test_a_made_up_or_forged_return_path_suppresses_nobody(app, runner, maildir):
    """Someone without SECRET_KEY sends bounces to return paths of their own making: a
    random key, and the victim's real address key (which a forwarded email's unsubscribe
    link gives away) with no mac, or with one they made up."""
    victim = "victim@example.net"
    with app.app_context():
        key = suppression.address_key(victim)
    forged = [
        f"+{secrets.token_hex(16)}-{secrets.token_hex(5)}@",
        f"+{key}@",
        f"+{key}-{secrets.token_hex(5)}@",
    ]
    kept = [maildir.add(postfix_dsn(BOUNCE_ADDRESS.replace("@", tag), victim)) for tag in forged]
    assert run(runner, maildir).endswith("; 3 reports without our return path, kept for a person")
    assert address_state(app, victim) is None
    with app.app_context():
        assert suppression.may_send(victim)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MailAddress)) == 0
    kept_for_a_person(maildir, kept)


def test_the_unsubscribe_token_gives_away_the_key_but_not_the_return_path(app, runner, maildir):
    from itsdangerous import URLSafeSerializer

    victim = "victim@example.net"
    with app.app_context():
        token = unsubscribe.token(victim)
        key = URLSafeSerializer("any key").loads_unsafe(token)[1]  # readable by anyone
        assert key == suppression.address_key(victim)
    maildir.add(postfix_dsn(BOUNCE_ADDRESS.replace("@", f"+{key}@"), victim))
    run(runner, maildir)
    assert address_state(app, victim) is None


def test_the_command_takes_one_source_and_says_when_it_cannot_read_it(runner, tmp_path):
    assert runner.invoke(args=["mail", "bounces"]).exit_code == 2
    both = ["mail", "bounces", "--maildir", str(tmp_path), "--imap", "imaps://u@h/INBOX"]
    assert runner.invoke(args=both).exit_code == 2
    missing = runner.invoke(args=["mail", "bounces", "--maildir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    not_maildir = runner.invoke(args=["mail", "bounces", "--maildir", str(tmp_path)])
    assert not_maildir.exit_code == 1 and "No Maildir" in not_maildir.output


def test_a_bounce_of_a_sent_email_stops_the_next_one(make_app, smtp, cases, tmp_path):
    app = make_app(MAIL_BOUNCE_ADDRESS=BOUNCE_ADDRESS, MAIL_PORT=smtp.port)
    runner = app.test_cli_runner()
    supporter = Supporter(app.test_client())
    address = "gone@example.net"
    supporter.submit("gustavo-gatica", email=address)
    assert "1 sent" in runner.invoke(args=["mail-worker", "--once"]).output
    [sent] = smtp.messages
    assert sent["To"] == address
    # Its bounce comes back to the envelope sender it left with.
    assert sent.envelope_from.startswith("bounces+")
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(postfix_dsn(sent.envelope_from, address))
    assert run(runner, box) == "bounces: 1 hard, 0 soft, 0 complaints, 0 not bounces"

    supporter.submit("nassima-al-sada", email=address)
    runner.invoke(args=["mail-worker", "--once"])
    assert len(smtp.messages) == 1  # nothing more went to the address
    with app.app_context():
        states = db.session.scalars(sa.select(Outbox.state).order_by(Outbox.id)).all()
    assert states == ["sent", "suppressed"]


def test_a_message_the_library_cannot_read_is_kept_and_its_text_not_logged(
    no_verp, maildir, monkeypatch, caplog
):
    def broken(message):
        raise ValueError(f"cannot parse {message['To']}")

    monkeypatch.setattr(bounces, "all_failures", broken)
    kept = maildir.add(postfix_dsn(BOUNCE_ADDRESS, "jane@example.net"))
    output = run(no_verp.test_cli_runner(), maildir)
    assert output == "bounces: 0 hard, 0 soft, 0 complaints, 1 not bounces"
    assert maildir.get_message(kept).get_flags() == "FS"
    assert "could not be read as a report (ValueError)" in caplog.text
    assert "example" not in caplog.text
