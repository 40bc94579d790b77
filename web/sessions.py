"""The session cookie: staff have one, supporters never get one."""

from flask import request
from flask.sessions import SecureCookieSessionInterface


class StaffSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, saved on staff pages only (sign-in and /admin).

    Supporters never sign in, so no other page needs the session. Yet Flask would answer
    there with `Vary: Cookie` whenever the session is read (Flask-Login reads it after every
    request) and renew a visiting staff member's cookie; shared caches (nginx, a CDN)
    would then keep a copy of each public page per visitor, or none at all. So every other
    page (home, case pages, thank-you, confirmation, counters, the API, a partner's embed)
    answers with no Set-Cookie and no `Vary: Cookie`: one copy serves everyone.
    """

    staff_blueprints = frozenset({"auth", "admin"})

    def save_session(self, app, session, response):
        if request.blueprint in self.staff_blueprints:
            super().save_session(app, session, response)
