"""Helpers for the staff pages' tests: what a page shows, read back the way a browser reads
it (no regular expressions), and days to date letters by."""

from datetime import timedelta
from html.parser import HTMLParser

from helpers import csrf_from

from models import utcnow


def session_token(client):
    """A valid CSRF token for this client's session, from the staff entry that anyone may
    open (the staff pages a moderator may not open cannot give one)."""
    return csrf_from(client)


def day(days_ago, hour=12):
    """A time `days_ago` days before today (UTC), at `hour`."""
    today = utcnow().replace(hour=hour, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


class Page(HTMLParser):
    """A page's table rows (with their attributes and cell texts), the figures marked
    data-stat, and the SVG bars (rect elements with their attributes and tooltips)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.rows, self.stats, self.rects = [], {}, []
        self._row = self._cell = self._stat = self._rect_title = None
        self._in_rect = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self._row = (attrs, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "rect":
            self.rects.append({**attrs, "title": ""})
            self._in_rect = True
        elif tag == "title" and self._in_rect:
            self._rect_title = []
        if "data-stat" in attrs:
            self._stat = (tag, attrs["data-stat"], [])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "title" and self._rect_title is not None:
            self.rects[-1]["title"] = "".join(self._rect_title)
            self._rect_title = None
        elif tag == "rect":
            self._in_rect = False
        if self._stat is not None and tag == self._stat[0]:
            self.stats[self._stat[1]] = " ".join("".join(self._stat[2]).split())
            self._stat = None

    def handle_data(self, data):
        for collecting in (self._cell, self._rect_title, self._stat and self._stat[2]):
            if collecting is not None:
                collecting.append(data)

    def row(self, attribute, value):
        """The cell texts of the row whose `attribute` is `value`."""
        found = [cells for attrs, cells in self.rows if attrs.get(attribute) == value]
        assert len(found) == 1, f"{len(found)} rows with {attribute}={value!r}"
        return found[0]

    def rows_with(self, attribute):
        return [(attrs[attribute], cells) for attrs, cells in self.rows if attribute in attrs]
