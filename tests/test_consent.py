"""Consent kept with its time and the privacy notice's version, and what the form and the
privacy notice tell writers, from the settings."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from embed_pages import PAGE, FramedSupporter
from helpers import SAME_ORIGIN, Supporter, form_values, stored

import letters
from extensions import db
from models import ContactConsent, Letter, utcnow

CASE = "gustavo-gatica"
VERSION = "2027-03-01"


@pytest.fixture
def site(make_app):
    """The site with a privacy notice of its own version."""
    return make_app(PRIVACY_NOTICE_VERSION=VERSION)


def confirm(app, letter_id):
    """Press Confirm on the page the letter's emailed link opens, as the writer does."""
    with app.test_request_context():
        link = letters.confirm_url(db.session.get(Letter, letter_id))
    response = app.test_client().post(link.removeprefix("http://localhost"), headers=SAME_ORIGIN)
    assert response.status_code == 303


def consents(app):
    return stored(app, ContactConsent)


def test_a_letter_keeps_the_version_of_the_notice_its_writer_agreed_to(site, cases):
    Supporter(site.test_client()).submit(CASE)
    [letter] = stored(site)
    assert letter.consent_privacy and letter.privacy_version == VERSION
    assert abs(letter.created_at - utcnow()) < timedelta(minutes=1)  # the consent's time


def test_a_letter_from_a_partner_s_frame_keeps_it_too(make_app, cases, partner_id):
    app = make_app(PRIVACY_NOTICE_VERSION=VERSION)
    assert FramedSupporter(app.test_client()).send().status_code == 200
    [letter] = stored(app)
    assert letter.partner_id == partner_id and letter.privacy_version == VERSION


def test_the_consent_to_hear_from_the_campaign_is_kept_once_the_letter_is_confirmed(site, cases):
    Supporter(site.test_client(), prefix="/es").submit(
        CASE, email="Ada.L@Example.org", consent_contact="y"
    )
    [letter] = stored(site)
    assert letter.consent_contact and consents(site) == []  # not before it is confirmed

    confirm(site, letter.id)
    [confirmed] = stored(site)
    [consent] = consents(site)
    assert (consent.email_key, consent.email, consent.name) == (
        "ada.l@example.org",
        "Ada.L@example.org",  # as the letter keeps it: the domain lower-cased
        "Ada Lovelace",
    )
    assert (consent.language, consent.privacy_version, consent.source) == ("es", VERSION, "letter")
    assert consent.given_at == confirmed.confirmed_at


def test_no_consent_is_kept_without_the_box_ticked_or_without_confirmation(site, cases):
    supporter = Supporter(site.test_client())
    supporter.submit(CASE, email="unticked@example.org")
    supporter.submit(CASE, email="never-confirmed@example.org", consent_contact="y")
    unticked, _waiting = stored(site)
    confirm(site, unticked.id)
    assert consents(site) == []


def test_a_box_ticked_in_the_offered_second_letter_counts_when_the_first_link_confirms_both(
    site, cases
):
    client = site.test_client()
    answer = Supporter(client).submit(CASE)  # the appeal, without the box ticked
    offered = form_values(answer.get_data(as_text=True), "solidarity-form")
    offered.update(
        {
            "solidarity-body": "Stay strong.",
            "solidarity-consent_privacy": "y",
            "solidarity-consent_contact": "y",
        }
    )
    client.post(f"/cases/{CASE}/letters/solidarity", data=offered, headers=SAME_ORIGIN)
    appeal, solidarity = stored(site)
    assert solidarity.confirm_with_id == appeal.id and consents(site) == []
    confirm(site, appeal.id)
    [consent] = consents(site)
    assert consent.email_key == "ada@example.org" and consent.privacy_version == VERSION


def test_a_consent_given_again_under_a_new_notice_replaces_the_one_before(make_app, cases):
    first = make_app(PRIVACY_NOTICE_VERSION="2026-12-05")
    Supporter(first.test_client()).submit(CASE, consent_contact="y")
    confirm(first, stored(first)[0].id)
    [before] = consents(first)

    later = make_app(PRIVACY_NOTICE_VERSION=VERSION)
    Supporter(later.test_client()).submit("germain-rukuki", consent_contact="y", name="Ada L.")
    second = stored(later)[1]
    confirm(later, second.id)
    [after] = consents(later)
    assert (before.privacy_version, after.privacy_version) == ("2026-12-05", VERSION)
    assert after.name == "Ada L." and after.given_at >= before.given_at
    with later.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactConsent)) == 1


NEWS = "We email you a link to confirm, and news of this case later (one click stops it)."


def test_the_form_says_writers_will_hear_news_of_the_case(client, cases, partner_id):
    """On the case page and in a partner's frame, by the email field (its hint, which
    screen readers read with the field), with the privacy notice a field further."""
    html = client.get(f"/cases/{CASE}").get_data(as_text=True)
    assert html.count(f'<p class="hint" id="appeal-email-hint">{NEWS}') == 1
    assert html.count(f'<p class="hint" id="solidarity-email-hint">{NEWS}') == 1
    assert 'aria-describedby="appeal-email-hint appeal-email-error"' in html
    assert '<a href="/privacy">privacy notice</a>' in html
    framed = client.get(PAGE).get_data(as_text=True)
    assert framed.count(NEWS) == 2
    assert '<a href="/privacy" target="_blank">privacy notice' in framed


SETTINGS = {
    "PRIVACY_CONTROLLER": "Amnesty Test Section & Trust",
    "PRIVACY_CONTACT": "dpo@rights.example",
    "MAIL_DEFAULT_SENDER": "Write for Rights <letters@rights.example>",
    "CONFIRM_MAX_AGE_DAYS": 45,
    "OUTBOX_KEEP_DAYS": 9,
    "RETENTION_DAYS_AFTER_CLOSE": 12000,
    "PRIVACY_NOTICE_VERSION": "2027-03-01",
}


NOTICE_SAYS = {
    "": [
        "<bdi>Amnesty Test Section &amp; Trust</bdi> holds your data",
        "deleted with its emails 45 days after it was written",
        "deleted from our records 9 days after they went",
        "12,000 days after a case closes",
        "last changed on March 1, 2027 (version 2027-03-01)",
    ],
    # In Spanish, with Spanish numbers and dates.
    "/es": [
        "<bdi>Amnesty Test Section &amp; Trust</bdi> conserva tus datos",
        "con sus correos, 45 días después de escribirse",
        "se eliminan de nuestros registros 9 días después de su envío",
        "12.000 días después del cierre de un caso",
        "se modificó por última vez el 1 de marzo de 2027 (versión 2027-03-01)",
    ],
}


@pytest.mark.parametrize("prefix", NOTICE_SAYS)
def test_the_privacy_notice_says_what_the_settings_say(make_app, prefix):
    app = make_app(**SETTINGS)
    html = app.test_client().get(f"{prefix}/privacy").get_data(as_text=True)
    for sentence in NOTICE_SAYS[prefix]:
        assert sentence in html
    assert '<a href="mailto:dpo@rights.example" dir="ltr">dpo@rights.example</a>' in html
    assert "letters@rights.example" not in html  # the sending address is not the contact
    assert f'<a href="{prefix}/your-letters">' in html


def test_the_notice_keeps_sent_emails_as_long_as_retention_does(make_app):
    """A setting under the least retention applies is shown as retention applies it."""
    html = make_app(OUTBOX_KEEP_DAYS=0).test_client().get("/privacy").get_data(as_text=True)
    assert "deleted from our records 2 days after they went" in html
    html = (
        make_app(PRIVACY_NOTICE_VERSION="v3").test_client().get("/privacy").get_data(as_text=True)
    )
    assert "Version of this notice: v3." in html
