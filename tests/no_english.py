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
# A placeholder: a number (%(num)d, %d, or one of NUMBERS formatted as a string) or any
# text (%(name)s, %s).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?([sd])")
NUMBERS = {"num", "count", "goal", "total", "number"}
NUMBER = r"\d[\d\s.,\u00a0\u202f\u066b\u066c]*"  # \d: Arabic-Indic digits too
SHOWN_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "aria-description"}
SKIPPED = {"script", "style", "template"}


def words_pattern(literal):
    """A regex for a message's own words (tags gone) as a page shows them: any spacing,
    each word whole (so "action" does not match inside "l'action")."""
    tokens = literal.split()
    return r"\s*".join(
        ("(?<!\\w)" if token[0].isalnum() else "")
        + re.escape(token)
        + ("(?!\\w)" if token[-1].isalnum() else "")
        for token in tokens
    )


def message_pattern(msgid):
    """(words, regex) for one English message: its words (what the failure names), and the
    whole message with its placeholders as wildcards. A message's single words are not
    looked for alone ("messages", "action" are French too); the whole message is."""
    parts = PLACEHOLDER.split(re.sub(r"<[^>]*>", " ", msgid))  # a link's %(url)s goes too
    literals, names, kinds = parts[0::3], parts[1::3], parts[2::3]
    regex = words_pattern(literals[0])
    for name, kind, literal in zip(names, kinds, literals[1:], strict=True):
        number = kind == "d" or name in NUMBERS
        regex += r"\s*" + (NUMBER if number else r".{1,80}?") + r"\s*" + words_pattern(literal)
    words = " ".join(" ".join(literals).split())
    return words, regex


def long_enough(words):
    """Six characters of the message's own words or more ("Error:" is one): shorter ones
    ("Email", "Total") can be words of the other language too. A proper name alone is the
    same in every language."""
    return len(words) >= 6 and words not in PROPER_NAMES


@functools.cache
def english_messages(language):
    """{English message: (its longest word, its regex)} for the messages a page in `language` must not show."""
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    # What the language's own translations write: a message found there ("messages",
    # "Error:" in French) is a word of that language too, not English on its page.
    own = " ".join(
        " ".join(m.string) if isinstance(m.string, tuple) else m.string for m in catalog if m.id
    )
    messages = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.fuzzy and strings and strings[0] == ids[0]:
            continue  # the same in both languages: a name
        for msgid in ids:
            words, regex = message_pattern(msgid)
            if not long_enough(words):
                continue
            longest = max(
                re.findall(r"\w+", words), key=len, default=""
            )  # a quick test before the regex
            regex = re.compile(regex)
            if not (longest in own and regex.search(own)):
                messages[msgid] = (longest, regex)
    return messages


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
    """The catalog's English messages that `page`, meant to be in `language`, shows; sorted.
    Proper names are read past: "Write for Rights campaign team" (a controller's name, a
    setting) is not the English of "Write for %(name)s"."""
    text = readable_text(page)
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    return sorted(
        msgid
        for msgid, (longest, regex) in english_messages(language).items()
        if longest in text and regex.search(text)
    )


def case_in_english(case, language):
    """The English texts of a case (cases.languages.TRANSLATED_FIELDS, its name aside: a person's
    name) that staff have translated into `language`, a paragraph's opening each: a page in
    `language` shows the translations instead. (An untranslated text is shown in English
    by design, marked lang="en".)"""
    from cases.languages import TRANSLATED_FIELDS

    translated = (case.translations or {}).get(language, {})
    openings = []
    for field in TRANSLATED_FIELDS:
        english = getattr(case, field) or ""
        if field == "name" or not translated.get(field) or translated[field] == english:
            continue
        openings += [" ".join(p.split())[:60] for p in english.split("\n") if len(p) > 20]
    return openings


def english_in_case_texts(page, openings):
    """The openings of `case_in_english()` that `page` shows."""
    text = readable_text(page)
    return [opening for opening in openings if opening in text]


def assert_no_english(page, language, where, case_texts=()):
    """Fail, listing every English message found, when `page` shows any: the list says which
    strings the `language` catalog still lacks (or which text is not marked); and any of a
    case's English `case_texts` (case_in_english) the page shows."""
    found = english_in(page, language) + english_in_case_texts(page, case_texts)
    assert not found, (
        f"{where} ({language}) shows {len(found)} English string(s) of the catalog:\n  "
        + "\n  ".join(found)
    )
