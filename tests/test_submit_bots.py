"""Telling a bot from a person without a puzzle: the honeypot field (thanked, nothing
stored) and the time taken to fill in the form (a letter sent too fast is kept, flagged
for moderators)."""

import contextlib
import re
import time
from unittest import mock

import pytest
from helpers import Supporter, hidden_value, staff_client, stored

import letters
from models import Outbox
from moderation import flags


def without_signed_values(response):
    """The answer without the offered form's signed values (a time, a letter's id)."""
    signed = r'(name="solidarity-(?:follow_up|started)"[^>]* value=")[^"]*'
    return re.sub(signed, r"\1", response.get_data(as_text=True))


def test_honeypot_looks_like_success_but_stores_nothing(app, supporter, case_slug):
    response = supporter.submit(case_slug, leave_empty="http://spam.example")
    assert response.status_code == 200 and "Thank you! Please check your inbox." in (
        response.get_data(as_text=True)
    )
    htmx = supporter.submit(case_slug, htmx=True, leave_empty="http://spam.example")
    assert "Thank you! Please check your inbox." in htmx.get_data(as_text=True)
    real = supporter.submit(case_slug, htmx=True)
    assert without_signed_values(htmx) == without_signed_values(real)  # as a real letter's
    assert len(stored(app)) == 1 and len(stored(app, Outbox)) == 1  # the real one only


def test_no_browser_autofills_the_honeypot(client, case_slug):
    html = client.get(f"/cases/{case_slug}").get_data(as_text=True)
    wrapper = html.split('<div class="hp" aria-hidden="true">', 1)[1].split("</div>", 1)[0]
    field = re.search(r"<input [^>]*>", wrapper).group(0)
    assert 'name="appeal-leave_empty"' in field and 'value=""' in field
    assert 'tabindex="-1"' in field and 'autocomplete="off"' in field
    # Nothing in its name or label that autofill maps to a person's details.
    label = re.search(r"<label [^>]*>([^<]*)</label>", wrapper).group(1)
    name = re.search(r'name="([^"]*)"', field).group(1)
    for word in ("name", "mail", "phone", "tel", "address", "city", "url", "website", "company"):
        assert word not in name.lower() and word not in label.lower()


def fast_flagged(letter):
    return "fast" in letter.flag_list and letter.flagged


def test_a_letter_sent_too_fast_is_kept_flagged_fast_and_counts_once_confirmed(
    make_app, cases, case_slug
):
    app = make_app(MIN_FILL_SECONDS=60)
    supporter = Supporter(app.test_client())
    response = supporter.submit(case_slug, htmx=True)  # sent the moment the page came
    assert "Thank you! Please check your inbox." in response.get_data(as_text=True)
    [letter] = stored(app)
    assert fast_flagged(letter) and letter.status == "unconfirmed" and not letter.counted
    [email] = stored(app, Outbox)
    assert email.template == "confirm"  # confirmed like any letter
    with app.app_context():
        assert letters.case_count(letter.case_id) == 0
        letters.confirm_letter(letter.id)
        assert letters.case_count(letter.case_id) == 1


def test_moderators_see_fast_letters_marked_and_can_list_them_alone(make_app, cases, case_slug):
    app = make_app(MIN_FILL_SECONDS=60)
    moderator = staff_client(app, "moderator", "mod@example.org")
    supporter = Supporter(app.test_client())
    supporter.submit(case_slug, kind="solidarity", body="Fast words.")
    with app.app_context():
        for letter in stored(app):
            letters.confirm_letter(letter.id)
    html = moderator.get("/admin/queue?flag=fast").get_data(as_text=True)
    assert "Fast words." in html
    assert str(flags.LABELS["fast"]) in html  # the letter's flag, and the filter's option
    assert '<option value="fast"' in html
    assert "Fast words." not in moderator.get("/admin/queue?flag=link").get_data(as_text=True)


@pytest.mark.parametrize("started", ["forged", "", None], ids=["forged", "empty", "missing"])
def test_a_forged_or_missing_fill_time_is_treated_as_fast(make_app, cases, case_slug, started):
    app = make_app(MIN_FILL_SECONDS=3)
    supporter = Supporter(app.test_client())
    fields = supporter.form_fields(case_slug, "appeal")
    real = fields["appeal-started"]
    if started is None:
        del fields["appeal-started"]
    else:
        fields["appeal-started"] = started
    with time_passing(20):  # long enough, but the form cannot prove it
        assert supporter.submit(case_slug, fields=fields).status_code == 200
        assert (
            supporter.submit(
                case_slug, fields={**fields, "appeal-started": real + "x"}, email="b@example.org"
            ).status_code
            == 200
        )  # a signature tampered with
    assert [fast_flagged(letter) for letter in stored(app)] == [True, True]


@contextlib.contextmanager
def time_passing(seconds):
    """The supporter takes `seconds` to write: the server's clock moves on that much."""
    real_time = time.time
    with mock.patch("time.time", lambda: real_time() + seconds):
        yield


def test_a_person_who_takes_their_time_raises_no_flag(make_app, cases, case_slug):
    app = make_app(MIN_FILL_SECONDS=3)
    supporter = Supporter(app.test_client())
    fields = supporter.form_fields(case_slug, "appeal")
    with time_passing(20):
        assert supporter.submit(case_slug, fields=fields).status_code == 200
    [letter] = stored(app)
    assert (letter.flags, letter.flagged) == ("", False)


def test_the_fill_time_survives_a_mistake(make_app, cases, case_slug):
    """A form that comes back with an error keeps the time it was first shown."""
    app = make_app(MIN_FILL_SECONDS=3)
    supporter = Supporter(app.test_client())
    fields = supporter.form_fields(case_slug, "appeal")
    with time_passing(20):
        refused = supporter.submit(case_slug, fields=fields, htmx=True, email="oops")
        again = {
            **fields,
            "appeal-started": hidden_value(refused.get_data(as_text=True), "appeal-started"),
        }
        assert supporter.submit(case_slug, fields=again).status_code == 200
    [letter] = stored(app)
    assert letter.flags == ""
