"""Test helpers: a real SMTP inbox, a supporter who fills in the letter form, staff who
sign in, and the rows a test stored. Rows for the database come from factories.py."""

import email
import re
import socket
import time
from email import policy
from html.parser import HTMLParser

import pyotp
import sqlalchemy as sa
from factories import STAFF_PASSWORD, StaffUserFactory

from extensions import db
from models import Letter, StaffUser
from staff import two_factor


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
        message.envelope_from = envelope.mail_from  # the return path (VERP) bounces go to
        message.raw = envelope.content  # as sent: headers before any parser decodes them
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
    fields the page gives, and the headers a browser sends with a post from the page.
    `prefix`: the pages' language ("/es"), English ("") unless told."""

    def __init__(self, client, prefix=""):
        self.client = client
        self.prefix = prefix

    def form_fields(self, slug, kind):
        page = self.client.get(f"{self.prefix}/cases/{slug}").get_data(as_text=True)
        return {
            f"{kind}-started": hidden_value(page, f"{kind}-started"),
            f"{kind}-language": hidden_value(page, f"{kind}-language"),
        }

    def submit(self, slug, kind="appeal", htmx=False, fields=None, headers=SAME_ORIGIN, **values):
        data = self.form_fields(slug, kind) if fields is None else dict(fields)
        data = filled(data, kind, {**LETTER, **values})
        if htmx:
            headers = {**headers, "HX-Request": "true", "HX-Request-Type": "partial"}
        url = f"{self.prefix}/cases/{slug}/letters/{kind}"
        return self.client.post(url, data=data, headers=headers)


class FormReader(HTMLParser):
    """The fields a browser would send from one form of a page: what it shows filled in
    (text, hidden, ticked boxes and radio buttons, the selected option, the textarea's text)."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self.fields[name] = attrs.get("value") or ""
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields[self.select] = attrs.get("value")
        elif tag == "textarea":
            self.textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag in ("select", "textarea"):
            self.select = self.textarea = None

    def handle_data(self, data):
        if self.inside and self.textarea:
            self.fields[self.textarea] += data


def form_values(html, form_id):
    """{name: value} of the form with this id, as a browser would post it untouched."""
    reader = FormReader(form_id)
    reader.feed(html)
    assert reader.fields, f"no form #{form_id} in the page"
    return reader.fields


# What a supporter types into a letter form, unless a test says otherwise.
LETTER = {
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "country": "GB",
    "city": "London",
    "body": "Please release him now.",
    "consent_privacy": "y",
}


def filled(data, kind, values):
    """The form's fields with `values` typed into the `kind` form (None leaves one out)."""
    for key, value in values.items():
        if value is not None:
            data[f"{kind}-{key}"] = value
    return data


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


def sign_in_password(client, email, password=STAFF_PASSWORD, next_path=None):
    """The first step only: the sign-in form (CSRF token included); returns the POST's
    response (a 303 to the second step when the password is right)."""
    page = client.get("/admin/sign-in").get_data(as_text=True)
    data = {"csrf_token": hidden_value(page, "csrf_token"), "email": email, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/admin/sign-in", data=data)


def app_code(app, email, step=0):
    """The code the account's authenticator app shows now (or `step` periods of 30 s
    later). Signing in a second time within 30 s would reuse a code, which the site
    refuses; so the code's step is forgotten first, as if 30 s had passed."""
    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        user.totp_last_step = None
        db.session.commit()
        totp = pyotp.TOTP(two_factor.secret(user))
        return totp.at(time.time() + step * totp.interval)


def enter_code(client, code, recovery=False):
    """The second step: a code from the app, or a recovery code; returns the POST's response."""
    path = "/admin/sign-in/code" + ("?use=recovery" if recovery else "")
    page = client.get(path).get_data(as_text=True)
    data = {"csrf_token": hidden_value(page, "csrf_token")}
    data.update({"use": "recovery", "recovery_code": code} if recovery else {"code": code})
    return client.post("/admin/sign-in/code", data=data)


def setup_key(html):
    """The TOTP secret an enrolment page shows as text, spaces removed."""
    match = re.search(r'class="secret-key"><code>([A-Z2-7 ]+)</code>', html)
    assert match, "no setup key in the page"
    return match.group(1).replace(" ", "")


def enrol(client):
    """A first sign-in's second step, as a staff member does it: the app set up from the
    page's setup key, its first code, then past the recovery codes. Returns the last POST's
    response and the recovery codes shown."""
    page = client.get("/admin/sign-in/enrol").get_data(as_text=True)
    data = {"csrf_token": hidden_value(page, "csrf_token")}
    shown = client.post(
        "/admin/sign-in/enrol", data={**data, "code": pyotp.TOTP(setup_key(page)).now()}
    )
    assert shown.status_code == 200, shown.status_code
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", shown.get_data(as_text=True))
    return client.post("/admin/sign-in/finish", data=data), codes


def sign_in(client, email, password=STAFF_PASSWORD, next_path=None):
    """Sign in through the real forms, the second step included: a code from the account's
    app, or at a first sign-in setting the app up. Returns the last POST's response: a 303
    to the page asked for once signed in, else the answer that stopped it (422, 429)."""
    response = sign_in_password(client, email, password, next_path)
    location = response.headers.get("Location", "") if response.status_code == 303 else ""
    if location.startswith("/admin/sign-in/code"):
        return enter_code(client, app_code(client.application, email.strip().lower()))
    if location.startswith("/admin/sign-in/enrol"):
        return enrol(client)[0]
    return response


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
