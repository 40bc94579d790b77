"""A link signed for a row that was deleted opens nothing later (issue 14): erasing and
retention delete letters and "Your letters" links, and on SQLite a deleted newest row's id
used to come back for the next row (max(id) + 1). Both databases now keep ids for good
(AUTOINCREMENT on SQLite, sequences on PostgreSQL)."""

import sqlalchemy as sa
from helpers import SAME_ORIGIN, stored

from extensions import begin_write, db
from letters.confirm import confirm_serializer
from models import DataLink, Letter
from supporters import erase, links


def erase_everything_of(app, address):
    with app.app_context():
        begin_write()
        erase.erase_address(address)
        db.session.commit()


def test_an_erased_letters_confirmation_link_never_confirms_the_next_letter(
    app, client, cases, supporter
):
    supporter.submit("gustavo-gatica", email="attacker@example.org")
    (attackers,) = stored(app)
    with app.test_request_context():
        old_link = f"/confirm/{confirm_serializer().dumps(attackers.id)}"
    erase_everything_of(app, "attacker@example.org")
    assert stored(app) == []  # unconfirmed: gone entirely

    supporter.submit("gustavo-gatica", email="bob@example.org")
    (bobs,) = stored(app)
    assert bobs.id != attackers.id
    answer = client.post(old_link, headers=SAME_ORIGIN)
    assert answer.status_code == 400
    assert "confirmed" not in {letter.status for letter in stored(app)}


def test_an_erased_your_letters_link_never_opens_the_next_one(app, client, cases, supporter):
    supporter.submit("gustavo-gatica", email="attacker@example.org")
    client.post("/your-letters", data={"email": "attacker@example.org"}, headers=SAME_ORIGIN)
    with app.app_context():
        first = db.session.scalar(sa.select(DataLink))
        old_token = links.serializer(links.LINK_SALT).dumps(first.id)
    erase_everything_of(app, "attacker@example.org")

    supporter.submit("gustavo-gatica", email="victim@example.org")
    client.post("/your-letters", data={"email": "victim@example.org"}, headers=SAME_ORIGIN)
    with app.app_context():
        victims = db.session.scalar(sa.select(DataLink))
        assert victims.email_key == "victim@example.org" and victims.id != first.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 1
    opened = client.post(f"/your-letters/{old_token}", headers=SAME_ORIGIN)
    assert opened.status_code == 400
    assert "victim@example.org" not in opened.get_data(as_text=True)
