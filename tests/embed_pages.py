"""Helpers for the tests of the letter form framed on a partner's site: the partners and
the page's address, a supporter who posts from inside the frame, and the origins the page
lets frame it. The `partner_id` and `framed` fixtures (conftest.py) build on them."""

import re

from helpers import LETTER, Supporter, filled, hidden_value

CASE = "gustavo-gatica"
PAGE = f"/embed/riverside/{CASE}"
ORIGINS = ["https://riverside.example", "http://localhost:8080"]
# What a browser sends when the framed page itself posts (the test client's host is localhost).
FROM_THE_FRAME = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


RIVERSIDE = {"slug": "riverside", "name": "Riverside School", "origins": ORIGINS}
UNION = {"slug": "union", "name": "The Union", "origins": ["https://union.example"]}


class FramedSupporter(Supporter):
    """Fills in the framed form as a browser inside the partner's frame would: no cookie,
    the form token from the page, and the headers a same-origin post carries."""

    def __init__(self, client, page=PAGE):
        super().__init__(client)
        self.page = page

    def form_fields(self, page=None, kind="appeal"):
        html = self.client.get(page or self.page).get_data(as_text=True)
        return {
            f"{kind}-form_token": hidden_value(html, f"{kind}-form_token"),
            f"{kind}-language": hidden_value(html, f"{kind}-language"),
        }

    def send(
        self,
        kind="appeal",
        fields=None,
        headers=FROM_THE_FRAME,
        htmx=False,
        page=None,
        query="",
        **values,
    ):
        data = self.form_fields(kind=kind) if fields is None else dict(fields)
        data = filled(data, kind, {**LETTER, "city": None, **values})  # no city typed here
        headers = {**headers, **(HTMX if htmx else {})}
        url = f"{page or self.page}/letters/{kind}{query}"  # as the form's action says
        return self.client.post(url, data=data, headers=headers)


def frame_ancestors(response):
    """The origins the page's Content-Security-Policy lets frame it."""
    csp = response.headers["Content-Security-Policy"]
    return re.search(r"frame-ancestors ([^;]*)", csp).group(1)
