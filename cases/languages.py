"""Which of a case's texts staff have written in each language, for the case list and form.

A language is complete when it has every text the case has in English: the translated
fields (TRANSLATED_FIELDS) and the appeal letter. An English text left empty (no
photo description for a case without a photo) is not asked for in other languages.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from web.templating import language_name

# A case's texts that staff may write in each language (Case.translations).
TRANSLATED_FIELDS = (
    "name",
    "summary",
    "story",
    "ask",
    "target_title",
    "solidarity_prompt",
    "photo_alt",
)

# Short names of the texts, for "missing: story, ask".
TEXT_NAMES = {
    "name": _l("name"),
    "summary": _l("summary"),
    "story": _l("story"),
    "ask": _l("what we ask for"),
    "target_title": _l("official's title"),
    "solidarity_prompt": _l("solidarity prompt"),
    "photo_alt": _l("photo description"),
    "appeal": _l("appeal letter"),
}


@dataclass
class LanguageStatus:
    code: str
    name: str  # in the staff page's language: "Spanish"
    needed: list  # the texts the case has in English
    missing: list  # those of them not written in this language

    @property
    def complete(self):
        return not self.missing

    @property
    def missing_names(self):
        return [str(TEXT_NAMES[text]) for text in self.missing]


def other_languages():
    """The site's languages besides English, in the order LANGUAGES gives them."""
    return [code for code in current_app.config["LANGUAGES"] if code != "en"]


def display_name(code):
    """A language's name in the page's language ("Spanish" on staff pages)."""
    return language_name(code, str(get_locale()))


def needed_texts(case):
    """The texts a translation of `case` should have: those it has in English."""
    needed = [field for field in TRANSLATED_FIELDS if getattr(case, field, "")]
    if (case.appeal_templates or {}).get("en"):
        needed.append("appeal")
    return needed


def language_status(case, code):
    texts = (case.translations or {}).get(code) or {}
    appeals = case.appeal_templates or {}
    needed = needed_texts(case)
    missing = [
        text for text in needed if not (appeals.get(code) if text == "appeal" else texts.get(text))
    ]
    return LanguageStatus(code, display_name(code), needed, missing)


def completeness(case):
    """A LanguageStatus for each of the site's languages besides English."""
    return [language_status(case, code) for code in other_languages()]


class InLanguage:
    """A row read in one language: each of `fields` in that language where staff wrote
    it (row.translations), else in English (the row's own columns); every other attribute
    is the row's. lang_of(field) tells which language a text is in, for its `lang`
    attribute (templates/_macros/case_text.html reads it)."""

    fields = ()

    def __init__(self, row, language):
        self.row = row
        self.language = language
        self.texts = (row.translations or {}).get(language) or {}

    def __getattr__(self, name):
        if name in self.fields and self.texts.get(name):
            return self.texts[name]
        return getattr(self.row, name)

    def lang_of(self, field):
        return self.language if self.texts.get(field) else "en"


class CaseInLanguage(InLanguage):
    """A case read in one language: its TRANSLATED_FIELDS translated where staff did."""

    fields = TRANSLATED_FIELDS

    @property
    def case(self):
        return self.row

    @property
    def address_confirmed(self):
        """Whether staff entered the official's postal address: the demo cases carry a
        placeholder (in English, for staff) that public pages say in their own language."""
        from cases.demo import ADDRESS_TBC  # cases.demo reads this module

        return self.case.target_address not in ("", ADDRESS_TBC)
