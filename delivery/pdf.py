"""The printable PDFs: appeals to the official and the solidarity booklet.

fonts/ is bundled; HarfBuzz shapes Arabic and emoji only where a text needs it.
"""

import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from flask_babel import force_locale, format_number, ngettext
from flask_babel import gettext as _
from fpdf import FPDF

from delivery.batches import batch_where
from delivery.export import appeal_rows, deliverable_solidarity, stream
from extensions import db
from letters.forms import country_names
from models import Case, Letter

logger = logging.getLogger(__name__)

FONT_FOLDER = Path(__file__).resolve().parent.parent / "fonts"
# The main font first, then the fallbacks fpdf2 tries for a character the main one lacks.
FONTS = {
    "NotoSans": "NotoSans-Regular.ttf",
    "NotoNaskhArabic": "NotoNaskhArabic-Regular.ttf",
    "NotoEmoji": "NotoEmoji-Regular.ttf",
    "NotoSansSymbols2": "NotoSansSymbols2-Regular.ttf",
}
# Text that needs HarfBuzz: combining marks, right-to-left and other complex scripts,
# zero-width joiners, symbols and emoji. Plain Latin, Greek and Cyrillic, punctuation and
# currency do not, and shaping them made a PDF three times slower.
NEEDS_SHAPING = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0590-\u1fff\u200c-\u200f\u2190-\U0010ffff]"
)
# PDFs


class Document(FPDF):
    """fpdf2's document, with the main font set on every page before any text.

    Works around a bug in fpdf2 2.8.9 (a variant of its issue #1772): when the first line
    on a page, or after a change of font size, starts and ends in a fallback font (Arabic,
    emoji), fpdf2 notes the main font as set, but the setting is undone with that line, so
    later lines in the main font come out with no font and do not show.
    """

    def header(self):
        self.set_main_font_on_page()

    def set_main_font_on_page(self):
        if not self.current_font_is_set_on_page:
            self.text(0, 0, "")  # draws nothing; puts the font on the page


def new_pdf(title):
    """An A4 document with the bundled fonts, falling back from Noto Sans to Arabic, emoji
    and symbols, so that no message prints as empty boxes."""
    pdf = Document(format="A4")
    pdf.set_title(title)
    pdf.set_creator("Write for Rights")
    pdf.set_margins(25, 20, 25)
    pdf.set_auto_page_break(True, margin=20)
    for family, file_name in FONTS.items():
        pdf.add_font(family, fname=FONT_FOLDER / file_name)
    pdf.set_fallback_fonts(list(FONTS)[1:])
    pdf.set_font("NotoSans", size=11)
    return pdf


def write(pdf, line_height, text, align=None, dry_run=False):
    """Text across the page, paragraph by paragraph as Unicode's bidi rules want: each one
    reads in the direction of its first letter and, unless `align` says otherwise, is
    aligned to match. HarfBuzz shapes only the paragraphs whose script needs it.

    With dry_run nothing is drawn. Returns the lines.
    """
    lines = []
    for paragraph in text.split("\n"):
        pdf.set_text_shaping(bool(NEEDS_SHAPING.search(paragraph)))
        pdf.set_main_font_on_page()
        lines += pdf.multi_cell(
            0,
            line_height,
            paragraph,
            align=align or alignment(paragraph),
            new_x="LMARGIN",
            new_y="NEXT",
            dry_run=dry_run,
            output="LINES",
        )
    return lines


def drawable(pdf):
    """Every character one of the document's fonts has a glyph for."""
    return frozenset(chr(code) for font in pdf.fonts.values() for code in font.cmap)


def report_missing(letter_id, text, characters):
    """Log the characters of a letter that no bundled font draws.

    They would be left out of the page: with text shaping on, fpdf2 drops them without a
    word. Only code points are logged, never the text.
    """
    missing = [
        c
        for c in set(text).difference(characters)
        if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp")  # never drawn anyway
    ]
    if missing:
        codes = " ".join(f"U+{ord(c):04X}" for c in sorted(missing))
        logger.warning("Letter %s has characters no bundled font draws: %s", letter_id, codes)


def plain_text(text):
    """Line breaks as the PDF expects them: a browser sends \\r\\n."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def alignment(text):
    """Right for a paragraph whose first letter is Arabic or Hebrew (Unicode's rule P2)."""
    for character in text:
        direction = unicodedata.bidirectional(character)
        if direction in ("L", "R", "AL"):
            return "L" if direction == "L" else "R"
    return "L"


@lru_cache(maxsize=64)
def date_locale(language):
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def letter_date(moment, language):
    """The date on a letter, written the way the letter's language writes dates."""
    return format_date(moment, "long", locale=date_locale(language)) if moment else ""


def appeals_pdf(case_id, after_id=0, limit=None, last_id=None, where=None):
    """The case's deliverable appeals to print and post: one letter per page (a long one
    runs on), headed with the official and the date, signed with name, city and country.

    A case can draw hundreds of thousands of appeals: print them in batches (see
    appeal_batches), from after_id (excluded) to last_id (included), or `limit` letters
    after after_id; `where` narrows them further (a batch's letters). fpdf2 holds the
    document in memory; the rows are streamed, never loaded as objects.
    """
    case = db.session.execute(
        sa.select(Case.name, Case.target_title, Case.target_address).where(Case.id == case_id)
    ).one()
    heading = plain_text(f"{case.target_title}\n{case.target_address}".strip())
    names = country_names("en")
    pdf = new_pdf(_("Appeals for %(name)s", name=case.name))
    characters = drawable(pdf)
    statement = appeal_rows(case_id).where(Letter.id > after_id).limit(limit)
    if last_id is not None:
        statement = statement.where(Letter.id <= last_id)
    if where is not None:
        statement = statement.where(where)
    for row in stream(statement):
        body = plain_text(row.body)
        country = names.get(row.country, row.country)
        signature = f"{row.name}\n{row.city}, {country}" if row.city else f"{row.name}\n{country}"
        report_missing(row.id, body + signature, characters)
        pdf.add_page()
        write(pdf, 5.5, heading, align="L")
        pdf.ln(6)
        write(pdf, 5.5, letter_date(row.confirmed_at, row.language), align="R")
        pdf.ln(8)
        write(pdf, 6, body)
        pdf.ln(8)
        write(pdf, 6, signature, align=alignment(body))
    if pdf.page == 0:
        pdf.add_page()
        write(pdf, 6, _("No appeals for %(name)s are ready for delivery.", name=case.name))
    return bytes(pdf.output())


def solidarity_pdf(case_id, after_id=0, last_id=None, where=None):
    """The approved solidarity messages as a booklet for the person or group: a cover, then
    the messages one after another, each signed with the name and country the writer gave
    (never the email). A message that fits on a page is not split across two.

    The cover and the countries' names are in the person's language (the case's
    person_language), the case's name as staff wrote it in that language; the messages
    are as their writers wrote them.

    About 400 messages a second: a popular case's booklet comes in volumes (see
    solidarity_batches), from after_id (excluded) to last_id (included); `where` narrows
    them further (a batch's letters).
    """
    case = db.session.get(Case, case_id)
    language = case.person_language or "en"
    with force_locale(language):
        return booklet(case.in_language(language), after_id, last_id, where)


def booklet(case, after_id, last_id, where_also=None):
    """solidarity_pdf's document, for a case read in the locale in force (CaseInLanguage)."""
    language = case.language
    where = sa.and_(Letter.case_id == case.id, deliverable_solidarity(), Letter.id > after_id)
    if last_id is not None:
        where = sa.and_(where, Letter.id <= last_id)
    if where_also is not None:
        where = sa.and_(where, where_also)
    messages, countries = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(Letter.country))).where(where)
    ).one()
    names = country_names(language)
    pdf = new_pdf(_("Messages of solidarity for %(name)s", name=case.name))
    pdf.set_lang(language)
    characters = drawable(pdf)

    pdf.add_page()
    pdf.set_y(90)
    pdf.set_font_size(28)
    write(pdf, 13, case.name, align="C")
    pdf.ln(8)
    pdf.set_font_size(15)
    write(pdf, 8, _("Messages of solidarity from Write for Rights supporters"), align="C")
    pdf.ln(4)
    pdf.set_font_size(12)
    # The plural follows each number; the number is written as the language writes it.
    from_countries = ngettext(
        "%(count)s country", "%(count)s countries", countries, count=format_number(countries)
    )
    summary = ngettext(
        "%(count)s message from %(countries)s",
        "%(count)s messages from %(countries)s",
        messages,
        count=format_number(messages),
        countries=from_countries,
    )
    write(pdf, 7, summary, align="C")

    if messages:
        pdf.add_page()
    statement = (
        sa.select(Letter.id, Letter.body, Letter.name, Letter.country)
        .where(where)
        .order_by(Letter.id)
    )
    write_messages(pdf, stream(statement), names, characters)
    return bytes(pdf.output())


def write_messages(pdf, rows, names, characters):
    """The booklet's messages one after another, each signed with the writer's name and
    country (`names`: the countries' names in the booklet's language). A message that fits
    on a page is not split across two."""
    for row in rows:
        body = plain_text(row.body)
        signature = f"— {row.name}, {names.get(row.country, row.country)}"
        report_missing(row.id, body + signature, characters)
        pdf.set_font_size(12)
        height = len(write(pdf, 6.5, body, dry_run=True)) * 6.5 + 2 + 5.5
        if pdf.will_page_break(height) and height < pdf.eph:
            pdf.add_page()
        write(pdf, 6.5, body)
        pdf.ln(2)
        pdf.set_font_size(10)
        pdf.set_text_color(90)
        write(pdf, 5.5, signature, align=alignment(body))
        pdf.set_text_color(0)
        pdf.ln(9)


def batch_pdf(batch, after_id=0, last_id=None):
    """A delivery batch's letters that still go out as its PDF: appeals to the official or
    a booklet volume; the whole batch, or one part of it (delivery.batches.parts)."""
    make = appeals_pdf if batch.kind == "appeal" else solidarity_pdf
    return make(batch.case_id, after_id=after_id, last_id=last_id, where=batch_where(batch))
