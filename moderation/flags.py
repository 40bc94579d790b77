"""Automatic flags for the moderation queue.

Solidarity messages go to people in prison or at risk, and moderators read tens of
thousands a day. These checks put the messages that need a human first: abusive or
threatening words, links, phone numbers, email addresses, shouting, the same text sent
many times (counted in the database from `fingerprint`) and letters sent faster than a
person writes. A flag never blocks or drops a letter; it only sorts the queue. The word
lists themselves are data, in flag_words.py.
"""

import hashlib
import re
import string
import unicodedata
from functools import lru_cache
from itertools import groupby

from flask_babel import lazy_gettext as _l

from moderation.flag_words import DEFAULT_WORDS

# "repeated" is counted by letters.submit in the database; "fast" marks a letter sent
# sooner after its form was shown than a person writes one (MIN_FILL_SECONDS), or with a
# missing or forged time: likely a script, kept for a moderator to judge.
FLAGS = ("abuse", "link", "phone", "email", "shouting", "repeated", "fast")

LABELS = {
    "abuse": _l("Abusive or threatening words"),
    "link": _l("Contains a link"),
    "phone": _l("Contains a phone number"),
    "email": _l("Contains an email address"),
    "shouting": _l("Mostly capital letters"),
    "repeated": _l("Same text sent many times"),
    "fast": _l("Sent too fast for a person (maybe a script)"),
}


def _char_class(predicate):
    """A regex character class of the Basic Multilingual Plane characters that pass."""
    ranges = []
    for passes, group in groupby(range(0x10000), key=lambda cp: predicate(chr(cp))):
        if passes:
            first, *rest = group
            last = rest[-1] if rest else first
            ranges.append(f"{re.escape(chr(first))}-{re.escape(chr(last))}")
    return "[" + "".join(ranges) + "]"


# Words. The text is folded (casefold, NFKD, no combining marks: accents, Arabic
# harakat, variation selectors), along with what people slip into words to dodge a
# filter: zero-width spaces, soft hyphens, tatweel.
_MARKS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
    "\u00ad\u200b-\u200f\u2060-\u2064\ufeff]"
)
# One spelling per letter: Turkish dotless i (so "SIKTIR" and "siktir" agree),
# ligatures, Arabic letter variants.
_LETTERS = (("ı", "i"), ("œ", "oe"), ("æ", "ae"), ("ى", "ي"), ("ة", "ه"), ("ٱ", "ا"))
# Digits and symbols standing for letters ("sh1t", "b!tch", "@ss", "a$$"): only
# between letters, or "@"/"$" before a word and "$" after one, so numbers stay numbers.
_LEET = re.compile(  # whole runs, next to a letter; tried once per run, so no text can
    # make the regex engine backtrack for long
    r"[0134578@$!|](?<![0134578@$!|].)"
    r"(?:(?<=[^\W\d_].)[0134578@$!|]*+|[0134578@$!|]*+(?=[^\W\d_]))"
)
_LEET_LETTERS = str.maketrans("0134578@$!|", "oieastbasii")
# Single letters with one repeated separator: "b.i.t.c.h", "f u c k", "k-i-l-l". The
# match starts at the first separator and keeps the first letter out, so removing the
# separators joins the word.
_SPACED = re.compile(r"([ ._\-·•])(?<=\W[^\W\d_].)(?:[^\W\d_]\1)+[^\W\d_](?!\w)")
# Where a listed word may start: after a space, punctuation or an emoji (the text is
# searched with a space in front, so its first word counts too).
_WORD_START = (
    "["
    + re.escape(" \t\n\r\f\v" + string.punctuation.replace("_", "") + "¡¿«»“”‘’„–—…،؛؟")
    + "\u2190-\u2bff\U0001f000-\U0001faff]"
)
# Between the words of a phrase: anything but letters and sentence punctuation.
_PHRASE_GAP = r"[^\w.,;:!?]*"
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def fold(text):
    """The text as the word lists see it: casefolded, compatibility-decomposed, no marks."""
    if text.isascii():
        return text.lower()
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text).casefold())
    for letter, spelling in _LETTERS:
        text = text.replace(letter, spelling)
    return text


def _unleet(match):
    """Translate a run of digits or symbols when it stands for letters in a word."""
    run, text = match.group(), match.string
    before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
    if (
        (before.isalpha() and after.isalpha())  # "sh1t", "b!tch"
        or (after.isalpha() and not before.isalnum() and run.strip("@$") == "")  # "@ss", "$hit"
        or (before.isalpha() and run.strip("$") == "")  # "a$$"
    ):
        return run.translate(_LEET_LETTERS)
    return run


def _unobfuscate(text):
    """Undo the disguises a plain word list would miss: "sh1t", "b.i.t.c.h"."""
    text = _LEET.sub(_unleet, text)
    return _SPACED.sub(lambda m: m.group().replace(m.group(1), ""), text)


def _entry_patterns(entry):
    """The regexes of one list entry. Repeated letters may repeat more ("fuuuck"), a
    star may stand for a letter inside a word ("f*ck"), a phrase allows any gap
    between its words but not a full stop, and a trailing "*" allows word endings."""
    words = re.findall(r"\w+", _unobfuscate(" " + fold(entry.rstrip("*"))))
    if not words:
        return []
    parts = []
    for word in words:
        runs = [(letter, len(list(group))) for letter, group in groupby(word)]
        pieces = []
        for i, (letter, count) in enumerate(runs):
            run = re.escape(letter) * count + re.escape(letter) + "*"  # "ss" + "s*"
            if 0 < i < len(runs) - 1:
                run = rf"(?:{run}|\*)"
            pieces.append(run)
        parts.append("".join(pieces))
    pattern = _PHRASE_GAP.join(parts) + (r"\w*" if entry.endswith("*") else "")
    if _ARABIC.match(words[0]):  # "and" and "so" are written joined to the next word
        return [pattern, "و" + pattern, "ف" + pattern]
    return [pattern]


@lru_cache(maxsize=64)
def abuse_pattern(*word_lists):
    """One regex for the given lists (tuples of entries), compiled once per content.

    Alternatives are grouped by their first letter and a match starts where a word
    does, so an admin's longer word list barely lengthens the wait for a letter.
    """
    by_first = {}
    for words in word_lists:
        for entry in words:
            for pattern in _entry_patterns(entry):
                by_first.setdefault(pattern[0], set()).add(pattern[1:])
    if not by_first:
        return None
    groups = (f"{first}(?:{'|'.join(sorted(rests))})" for first, rests in sorted(by_first.items()))
    return re.compile(_WORD_START + "(?:" + "|".join(groups) + r")(?!\w)")


def has_abuse(text, language, words=None):
    """True when the text holds a listed word of its own language or of English."""
    language = (language or "en").replace("_", "-").split("-")[0].lower()  # "es-MX": "es"
    words = DEFAULT_WORDS if words is None else words
    english = tuple(words.get("en", ()))
    pattern = abuse_pattern(tuple(words.get(language, ())), english if language != "en" else ())
    return pattern is not None and pattern.search(_unobfuscate(" " + fold(text))) is not None


# Links: a scheme, "www.", or a bare domain. A bare domain needs a lowercase
# top-level domain people use for links, or a path after it ("t.me/x"), so a
# sentence that lost its space after a full stop ("free him.Now") is not a link.
_TLDS = (
    "com|org|net|info|biz|io|co|xyz|top|site|online|app|dev|link|click|live|news|blog|"
    "shop|store|club|ly|gl|gd|tk|ml|ga|cf|gq|ws|tv|cc|ru|cn|uk|de|fr|es|tr|cl|mx|br|ar|"
    "sa|ae|eg|eu|us|ca|au|nl|ch|pl|pt|bi"
)
_LINK_HINT = re.compile(r"\.\w|://")
_LINK = re.compile(
    r"(?i:\b(?:https?|ftp)://\w|\bwww\d{0,3}\.\w)"
    rf"|(?<![\w@.-])(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+(?:(?:{_TLDS})(?![\w@-])|[a-z]{{2,}}/\w)"
)


def has_link(text):
    """Links lead the person we write to, or a moderator, to pages nobody checked."""
    return _LINK_HINT.search(text) is not None and _LINK.search(text) is not None


# Email addresses, plain or spelled out: "name at example dot org", "name[at]example.org".
# A plain " at " needs a spelled-out dot too: "I volunteer at amnesty.org" is a link.
_EMAIL = re.compile(r"[\w.+-]@[\w-]+(?:\.[\w-]+)*\.\w")
_BRACKETS = ("[]", "()", "{}")
_SPELLED_DOT = "|".join(
    [r" (?:dot|punto|point) "]
    + [rf" ?{re.escape(o)} ?(?:dot|\.|punto|point) ?{re.escape(c)} ?" for o, c in _BRACKETS]
)
_BRACKET_AT = "|".join(rf"{re.escape(o)} ?(?:at|@|arroba) ?{re.escape(c)} ?" for o, c in _BRACKETS)
_SPELLED_HINTS = ("[", "(", "{", " dot ", " punto ", " point ")
_SPELLED_EMAIL = re.compile(
    rf"(?i)(?: (?<=\w )(?:at|arroba) [\w-]+(?:(?:{_SPELLED_DOT}|\.)[\w-]+)*?(?:{_SPELLED_DOT})"
    rf"|(?:{_BRACKET_AT})[\w-]+(?:(?:{_SPELLED_DOT}|\.)[\w-]+)*?(?:{_SPELLED_DOT}|\.))"
    rf"(?:{_TLDS})\b"
)


def has_email(text):
    """An address is personal data: the writer's, or someone's to be harassed."""
    if "@" in text and _EMAIL.search(text):
        return True
    lowered = text.lower()  # a spelled-out address needs a bracket or a spelled-out dot
    return any(hint in lowered for hint in _SPELLED_HINTS) and bool(_SPELLED_EMAIL.search(text))


# Phone numbers: digit groups joined by one space, dot or dash, or by parentheses,
# with an optional "+". Each candidate is then checked, so years, dates, counts and
# "32-year" sentences are not phones.
_DIGIT = "[0-9\u0660-\u0669\u06f0-\u06f9\uff10-\uff19]"  # Latin, Arabic, Persian, full-width
_PHONE_HINT = re.compile(rf"{_DIGIT}(?:\D{{0,3}}{_DIGIT}){{6}}")
_GROUP = rf"(?:\({_DIGIT}{{1,5}}\)|{_DIGIT}+)"
_PHONE = re.compile(
    rf"(?<![\w+.,/:-])(?:\+\s?)?{_GROUP}(?:(?: - |[ ./\-\u00a0]|(?<=\))|(?=\()){_GROUP})*"
    r"(?![\w/]|[.,]\d)"
)
_DATE = re.compile(r"\d{1,2}([./\-])\d{1,2}\1\d{2,4}|\d{4}([./\-])\d{1,2}\2\d{1,2}")
_YEARS = re.compile(r"(?:19|20)\d\d(?: ?[./\- ] ?(?:19|20)\d\d)+|(?:19|20)\d\d \d{1,4}")
_THOUSANDS = re.compile(r"\d{1,3}([.\u00a0 ])\d{3}(?:\1\d{3})*")
_NOT_DIGIT = re.compile(r"\D")


def _is_phone(candidate):
    digits = _NOT_DIGIT.sub("", candidate)
    if not 7 <= len(digits) <= 15:
        return False
    if candidate.startswith("+"):
        return True
    if _DATE.fullmatch(candidate) or _YEARS.fullmatch(candidate):
        return False  # "12.03.2021", "2019-2021", "in 2019 300 people"
    grouped = _THOUSANDS.fullmatch(candidate)
    if grouped and (grouped.group(1) == "." or digits.endswith("000")):
        return False  # "3.700.000", "6 000 000"
    return not (candidate.isdigit() and digits.endswith("000"))  # "6000000"


def has_phone(text):
    """A phone number is personal data: the writer's, or someone's to be harassed."""
    return _PHONE_HINT.search(text) is not None and any(
        _is_phone(match.group()) for match in _PHONE.finditer(text)
    )


# Shouting: most cased letters are capitals, in a message longer than a slogan.
# "FREE GUSTAVO NOW!" or "STAY STRONG NASSIMA" are normal; a long message in
# capitals is not. Scripts without case (Arabic) count neither way.
SHOUTING_MIN_LETTERS = 20
SHOUTING_RATIO = 0.7
_UPPER = re.compile(_char_class(str.isupper))
_LOWER_RUNS = re.compile(_char_class(str.islower) + "+")


def is_shouting(text):
    """More than SHOUTING_RATIO of at least SHOUTING_MIN_LETTERS cased letters are capitals."""
    upper = len(_UPPER.findall(text))
    if upper <= SHOUTING_RATIO * SHOUTING_MIN_LETTERS:
        return False  # too few capitals to shout, however long the text
    lower = sum(map(len, _LOWER_RUNS.findall(text)))
    cased = upper + lower
    return cased >= SHOUTING_MIN_LETTERS and upper > SHOUTING_RATIO * cased


def text_flags(text, language, words=None):
    """The flags one message's text raises, in FLAGS order ("repeated" and "fast" are
    found by letters.submit, from the database and the form).

    `words` maps a language to its listed words (the admin table); None means
    DEFAULT_WORDS. A message is checked against its own language and English.
    """
    if not text:
        return []
    found = {
        "abuse": has_abuse(text, language, words),
        "link": has_link(text),
        "phone": has_phone(text),
        "email": has_email(text),
        "shouting": is_shouting(text),
    }
    return [flag for flag in FLAGS if found.get(flag)]


# Fingerprints: what stays of a text once case, spacing, punctuation, invisible
# characters and combining marks are gone, so copies of one text count as one.
_FINGERPRINT_DROP = re.compile(
    _char_class(
        lambda ch: unicodedata.category(ch)[0] == "P" or unicodedata.category(ch) in ("Cf", "Mn")
    )
)
_SPACES = re.compile(r"\s+")


def fingerprint(text):
    """A 16-hex-digit hash of the normalised text: equal for copies of one message."""
    text = _FINGERPRINT_DROP.sub("", unicodedata.normalize("NFKC", text).casefold())
    text = _SPACES.sub(" ", text).strip()
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
