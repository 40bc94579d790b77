"""Test helpers: a real SMTP inbox, a supporter who fills in the letter form, staff who
sign in, and the rows a test stored. Rows for the database come from factories.py."""

import email
import re
import socket
from email import policy

import sqlalchemy as sa
from factories import STAFF_PASSWORD, StaffUserFactory

from extensions import db
from models import Letter


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What a real SMTP server (aiosmtpd) received, parsed as email messages."""

    def __init__(self):
        self.messages = []
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def body(self, message, subtype):
        return message.get_body(preferencelist=(subtype,)).get_content()


def hidden_value(html, name):
    match = re.search(rf'name="{re.escape(name)}"[^>]* value="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


# What a browser says of a post from one of the site's own pages (the test client's
# host is http://localhost, TestConfig's BASE_URL).
SAME_ORIGIN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


class Supporter:
    """Fills in a case's letter form the way a browser would, with or without htmx: the
    fields the page gives, and the headers a browser sends with a post from the page."""

    def __init__(self, client):
        self.client = client

    def form_fields(self, slug, kind):
        page = self.client.get(f"/cases/{slug}").get_data(as_text=True)
        return {
            f"{kind}-started": hidden_value(page, f"{kind}-started"),
            f"{kind}-language": "en",
        }

    def submit(self, slug, kind="appeal", htmx=False, fields=None, headers=SAME_ORIGIN, **values):
        data = self.form_fields(slug, kind) if fields is None else dict(fields)
        defaults = {
            "name": "Ada Lovelace",
            "email": "ada@example.org",
            "country": "GB",
            "city": "London",
            "body": "Please release him now.",
            "consent_privacy": "y",
        }
        for key, value in {**defaults, **values}.items():
            if value is not None:
                data[f"{kind}-{key}"] = value
        if htmx:
            headers = {**headers, "HX-Request": "true", "HX-Request-Type": "partial"}
        return self.client.post(f"/cases/{slug}/letters/{kind}", data=data, headers=headers)


def unreachable_database(url):
    """A database URL of the same kind as `url` that does not answer: a PostgreSQL port
    nothing listens on, or an SQLite file in a folder that does not exist."""
    if url.startswith("postgresql"):
        return "postgresql://postgres@127.0.0.1:1/gone"
    return "sqlite:////no-such-folder/letters.db"


def stored(app, model=Letter):
    """Every row of `model` by primary key (for letters and emails, the order they were
    stored), detached so that a test can read them outside the app context."""
    with app.app_context():
        query = sa.select(model).order_by(*sa.inspect(model).primary_key)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def rendered(app, email):
    """(subject, text, html) of a queued email, as the worker will send it."""
    from mail import outbox

    with app.app_context():
        return outbox.render(email)


def sign_in(client, email, password=STAFF_PASSWORD, next_path=None):
    """Sign in through the real form (CSRF token included); returns the POST's response."""
    page = client.get("/admin/sign-in").get_data(as_text=True)
    data = {"csrf_token": hidden_value(page, "csrf_token"), "email": email, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/admin/sign-in", data=data)


def csrf_from(client, path="/admin/"):
    """The CSRF token a staff page gives its forms (htmx sends it as X-CSRFToken). The
    default, the staff entry, gives one to anyone: signed out it leads to the sign-in page,
    moderators to their queue, admins to the dashboard."""
    page = client.get(path, follow_redirects=True)
    return hidden_value(page.get_data(as_text=True), "csrf_token")


def staff_client(app, role, email):
    """A test client signed in as a new staff member with this role."""
    with app.app_context():
        StaffUserFactory(email=email, role=role)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client
