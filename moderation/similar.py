"""Near-copies: a letter that is a case's suggested text with a name added or a line
changed joins that text's group in the queue, so a moderator reads only what changed.

Texts are compared word by word (rapidfuzz's LCSseq over the folded words: case, accents,
Arabic harakat and punctuation aside). A letter nearly copies a suggested text when it
keeps at least half its words in order (KEPT_SHARE) and adds fewer of its own than it
kept, and few: a signature's or a line's worth (ADDED_WORDS), or half the text's length
for a long one (ADDED_SHARE). A suggested text inside a long message of one's own, or a
different message that shares some words, stays apart.
Joining a group changes only where a letter is shown: it keeps its own flags, and the
group page shows its differences (diff_html).
"""

import re
from functools import lru_cache

import sqlalchemy as sa
from flask_babel import gettext as _
from markupsafe import Markup, escape
from rapidfuzz.distance import Indel, LCSseq

from extensions import db
from models import TextGroup
from moderation.flags import fold
from web import caching

KEPT_SHARE = 0.5  # of the suggested text's words, in order
ADDED_WORDS = 10  # a name and a place, or a line: "— Ana, from Lima, Peru"
ADDED_SHARE = 0.5  # of the suggested text's words: a line added or changed

_WORDS = re.compile(r"\w+")


def words(text):
    """The text's words as compared: folded, without punctuation."""
    return tuple(_WORDS.findall(fold(text)))


def group_key_for(case_id, kind, body, fingerprint):
    """The queue group a new letter joins: the key of the case's suggested text (or
    appeal template) it nearly copies, else its own fingerprint (an exact copy of a
    suggested text has that text's key as its fingerprint)."""
    texts = case_texts(case_id)
    if not texts or fingerprint in texts:
        return fingerprint
    letter = words(body)
    best, best_score = fingerprint, 0.0
    for key, text in texts.items():
        suggested = text_words(text)
        if not near_copy(suggested, letter):
            continue
        score = Indel.normalized_similarity(suggested, letter)
        if score > best_score:
            best, best_score = key, score
    return best


def near_copy(suggested, letter):
    """Whether `letter` (its words) is `suggested` with a few words added or changed."""
    size = len(suggested)
    allowed = max(ADDED_WORDS, ADDED_SHARE * size)
    # Lengths alone rule most texts out before the comparison.
    if len(letter) < KEPT_SHARE * size or len(letter) > size + allowed:
        return False
    kept = LCSseq.similarity(suggested, letter)
    added = len(letter) - kept
    # More of the suggested text than of one's own: a short text's few words ("we",
    # "you") in a message of one's own do not make it a copy.
    return kept >= KEPT_SHARE * size and added <= min(allowed, kept)


@lru_cache(maxsize=4096)
def text_words(text):
    """A suggested text's words, worked out once per process (there are a few hundred)."""
    return words(text)


def case_texts(case_id):
    """{key: text} of the case's suggested texts and appeal templates (TextGroup rows
    that moderation/suggested.py keeps), kept in the app's cache for PAGE_CACHE_SECONDS
    as the abuse word lists are: every letter needs them (plain strings, quick to read
    back; their words are kept apart, text_words). A case saved, its texts synced in the
    same transaction, forgets the app's cache (cases.manage.forget_cached_pages)."""

    def load():
        rows = db.session.execute(
            sa.select(TextGroup.key, TextGroup.text).where(
                TextGroup.case_id == case_id, TextGroup.suggested.is_(True)
            )
        ).all()
        return {key: text for key, text in rows if text}

    return caching.cached(("suggested-texts", case_id), load)


_TOKENS = re.compile(r"\S+\s*|\s+")


def diff_html(group_text, text):
    """`text` with its differences from `group_text` marked word by word: words added
    in <ins>, words left out in <del>, each announced to screen readers ("added:",
    "removed:"), which do not read the elements' meaning. Both texts are escaped."""
    (old, keys_old), (new, keys_new) = group_tokens(group_text or ""), tokens(text or "")
    parts, removed, added = [], [], []
    labels = {"del": _("removed:"), "ins": _("added:")}

    def changes():  # what was removed, then what replaced it
        if removed:
            parts.append(marked("del", labels["del"], "".join(removed)))
        if added:
            parts.append(marked("ins", labels["ins"], "".join(added)))
        removed.clear()
        added.clear()

    for tag, i1, i2, j1, j2 in Indel.opcodes(keys_old, keys_new):
        if tag == "equal":
            changes()
            parts.append(escape("".join(new[j1:j2])))
        else:
            removed += old[i1:i2]
            added += new[j1:j2]
    changes()
    return Markup('<span class="text-diff">{}</span>').format(Markup("").join(parts))


def tokens(text):
    """The text's words with the spacing after each, and what each is compared by."""
    found = _TOKENS.findall(text)
    return found, [diff_key(token) for token in found]


# A group page compares up to MAX_SELECTED near-copies with one text (a case's suggested
# text: near-copies join only those), so its words are worked out once.
group_tokens = lru_cache(maxsize=256)(tokens)


def diff_key(token):
    """What a token is compared by: its folded words (a comma or a capital changes
    nothing a moderator needs to read), or itself when it has none (an emoji)."""
    return " ".join(words(token)) or token.strip()


_MARKS = {
    "del": Markup('<del class="diff-del"><span class="visually-hidden">%s </span>%s</del>%s'),
    "ins": Markup('<ins class="diff-ins"><span class="visually-hidden">%s </span>%s</ins>%s'),
}


def marked(element, label, words_):
    """<ins> or <del> around the words, the label for screen readers, and the spacing
    after them outside, so the marks hug the words (one space after removed ones: the
    letter's own spacing follows)."""
    shown = words_.rstrip()
    spacing = words_[len(shown) :]
    if element == "del" and spacing:
        spacing = " "
    return _MARKS[element] % (label, shown, spacing)
