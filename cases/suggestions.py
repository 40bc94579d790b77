"""A case's suggested solidarity messages (Case.solidarity_suggestions: {"en": [...], ...}).

Staff write them on the case form, one message per paragraph; the supporter's solidarity
form offers those of the letter's language (else English) to start from.
"""

import re

from models import BODY_MAX

# A few to choose from: more would make the form long to read, on a phone above all.
MAX_PER_LANGUAGE = 5
PARAGRAPHS = re.compile(r"\n[ \t]*\n")


def split_messages(text):
    """The messages of a textarea where a blank line separates one from the next."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return [part.strip() for part in PARAGRAPHS.split(text) if part.strip()]


def join_messages(messages):
    """The textarea's text for a list of messages: the inverse of split_messages."""
    return "\n\n".join(messages or [])


def problems(messages):
    """What is wrong with one language's messages, as (message, values) for gettext, or
    None: too many, one too long, or one written twice."""
    if len(messages) > MAX_PER_LANGUAGE:
        return "too_many", {"num": len(messages), "max": MAX_PER_LANGUAGE}
    limit = BODY_MAX["solidarity"]
    for number, message in enumerate(messages, start=1):
        if len(message) > limit:
            return "too_long", {"number": number, "length": len(message), "max": limit}
        if message in messages[: number - 1]:
            return "repeated", {"number": number, "first": messages.index(message) + 1}
    return None


def suggestions_for(case, language):
    """(their language, the messages) to offer with a letter in `language`: its own, else
    the English ones; no messages when the case has neither."""
    found = case.solidarity_suggestions or {}
    language = language if found.get(language) else "en"
    return language, list(found.get(language) or [])


def all_texts(case):
    """Every text the case suggests: its solidarity messages and its appeal letters."""
    texts = [text for messages in (case.solidarity_suggestions or {}).values() for text in messages]
    return texts + [text for text in (case.appeal_templates or {}).values() if text]
