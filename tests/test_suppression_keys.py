"""The suppression list outlives a change of SECRET_KEY (mail/suppression.py): an entry
recorded under an old key, now in SECRET_KEY_FALLBACKS, still stops email, even when the
address has a newer entry under the new key."""

from extensions import begin_write, db
from mail import suppression

OLD_KEY = "the-key-before"


def record(app, change):
    with app.app_context():
        begin_write()
        change()
        db.session.commit()


def test_a_complaint_under_the_old_key_still_stops_email_after_a_key_change(make_app):
    before = make_app(SECRET_KEY=OLD_KEY)
    address = "Complained@Example.org"
    with before.app_context():
        old = suppression.address_key(address)
    record(before, lambda: suppression.suppress(old, suppression.COMPLAINT, "ses"))

    after = make_app(SECRET_KEY="the-key-now", SECRET_KEY_FALLBACKS=[OLD_KEY])
    with after.app_context():
        assert suppression.address_key(address) != old
        new = suppression.address_key(address)
    record(after, lambda: suppression.unsubscribe(new, "link"))  # a newer, milder entry
    with after.app_context():
        assert not suppression.may_send(address)
        assert not suppression.may_send(address, news=True)
        assert suppression.may_send("someone-else@example.org")
