""" "Without meeting a word of English": the English words of the site's catalog that a page
in another language shows.

The words looked for are the catalog's own: every msgid of translations/<lang>/.../messages.po
whose translation differs from it (an untranslated or fuzzy one counts, since the page then
shows the English), cut at its placeholders and tags into the runs of words a reader meets,
keeping runs long enough not to be a word both languages share. A page is checked on what a
reader meets: its text (scripts and styles left out) and the attributes read aloud or shown
(alt, title, aria-label, placeholder, the <title>).
"""

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGS = Path(__file__).resolve().parents[1] / "translations"
# Names are the same in every language: the campaign's and the services a share link opens.
PROPER_NAMES = {"Write for Rights", "Amnesty International", "WhatsApp"}
# A placeholder (%(name)s, %s, %d), a tag, or a line break: where a message is cut.
CUTS = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]*>|\n")
SHOWN_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "aria-description"}
SKIPPED = {"script", "style", "template"}


def long_enough(run):
    """Eight characters or more: shorter runs ("Email", "Total", "Error") can be words of
    the other language too."""
    return len(run) >= 8


@functools.cache
def english_runs(language):
    """The English runs of words a page in `language` must not show."""
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    runs = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.fuzzy and strings and strings[0] == ids[0]:
            continue  # the same in both languages: a name
        for msgid in ids:
            for piece in CUTS.split(msgid):
                run = " ".join(piece.split()).strip(" ,;:")
                if long_enough(run) and not any(name in run for name in PROPER_NAMES):
                    runs.add(run)
    return frozenset(runs)


class _Text(HTMLParser):
    """A page's text and shown attributes, as one string of words."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.parts.append(value)
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in SKIPPED and self.skipping:
            self.skipping -= 1
        self.parts.append(" ")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def readable_text(page):
    """The words a reader meets in `page`: HTML (parsed) or text already (kept)."""
    if re.match(r"\s*<", page):
        parser = _Text()
        parser.feed(page)
        parser.close()
        page = "".join(parser.parts)
    return " ".join(page.split())


def english_in(page, language):
    """The catalog's English runs that `page`, meant to be in `language`, shows; sorted."""
    text = readable_text(page)
    return sorted(
        run for run in english_runs(language) if re.search(rf"(?<!\w){re.escape(run)}(?!\w)", text)
    )


def assert_no_english(page, language, where):
    """Fail, listing every English run found, when `page` shows any: the list says which
    strings the `language` catalog still lacks (or which text is not marked)."""
    found = english_in(page, language)
    assert not found, (
        f"{where} ({language}) shows {len(found)} English string(s) of the catalog:\n  "
        + "\n  ".join(found)
    )
