"""A partner's private stats page: its own figures only, behind a link that can be
rotated and that stops working when the partner is removed."""

import re

from embed_pages import CASE, UNION, frame_ancestors
from factories import LetterFactory, PartnerFactory

import partners
from extensions import db
from models import Partner, utcnow


def stats_link(app, slug="riverside"):
    with app.app_context():
        return "/partners/stats/" + partners.find_partner(slug).stats_token


def test_the_stats_link_shows_the_partners_own_figures_only(app, client, cases, partner_id):
    with app.app_context():
        union = PartnerFactory(**UNION).id
        LetterFactory.create_batch(2, case_id=cases[CASE], partner_id=partner_id)
        LetterFactory(case_id=cases[CASE], partner_id=partner_id, status="unconfirmed")
        LetterFactory(case_id=cases["germain-rukuki"], partner_id=partner_id)
        LetterFactory.create_batch(7, case_id=cases[CASE], partner_id=union)
        LetterFactory.create_batch(11, case_id=cases[CASE])
    response = client.get(stats_link(app))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert frame_ancestors(response) == "'none'"
    html = response.get_data(as_text=True)
    assert "Letters with Riverside School" in html
    assert "Your supporters wrote 4 letters through your site." in html
    assert "3 are confirmed" in html
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th><td>(\d+)</td><td>(\d+)</td></tr>", html)
    today = utcnow().date()
    assert rows == [
        ("Gustavo Gatica", "3", "2"),
        ("Germain Rukuki", "1", "1"),
        (f'<time datetime="{today}">{today:%b} {today.day}, {today.year}</time>', "4", "3"),
    ]
    assert "The Union" not in html and "<td>7</td>" not in html and "<td>11</td>" not in html


def test_a_wrong_rotated_or_removed_stats_link_shows_nothing(app, client, cases, partner_id):
    old = stats_link(app)
    assert client.get(old[:-1] + ("x" if not old.endswith("x") else "y")).status_code == 404
    assert client.get("/partners/stats/").status_code == 404
    with app.app_context():
        partners.rotate_stats_link(partners.find_partner("riverside"))
    assert client.get(old).status_code == 404
    new = stats_link(app)
    assert new != old and client.get(new).status_code == 200
    with app.app_context():
        LetterFactory(case_id=cases[CASE], partner_id=partner_id, status="unconfirmed")
    with app.app_context():
        partners.remove_partner(partners.find_partner("riverside"))
    missing = client.get(new)
    assert missing.status_code == 404
    assert missing.headers["Referrer-Policy"] == "no-referrer"
    assert "Riverside" not in missing.get_data(as_text=True)
    with app.app_context():  # kept, with its letter, for the campaign's figures
        partner = db.session.get(Partner, partner_id)
        assert partner.removed_at is not None
        assert partners.totals_by_partner() == {partner_id: (1, 0)}
