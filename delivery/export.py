"""Which letters go out, in which batches, and the appeals CSV that staff send or print.

Rows are read in batches on a streaming query, selecting only the columns a file shows,
so an export's memory does not grow with the number of letters; the email address is
never selected.
"""

import csv
import io
import logging

import sqlalchemy as sa

from extensions import db
from letters.forms import country_names
from models import Letter, Partner

logger = logging.getLogger(__name__)


BATCH = 500  # rows fetched per round trip, and CSV rows per chunk sent
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
CSV_HEADER = [
    "letter_id",
    "confirmed_at_utc",
    "name",
    "city",
    "country",
    "country_name",
    "language",
    "partner",
    "letter",
]


def deliverable_appeals():
    """Appeals go to the official unless a moderator stopped them; one that automatic flags
    marked (Letter.flagged) is held until a moderator has looked at it."""
    return sa.and_(
        Letter.kind == "appeal",
        Letter.status == "confirmed",
        sa.or_(
            Letter.moderation == "approved",
            sa.and_(Letter.moderation == "pending", Letter.flagged.is_(False)),
        ),
    )


def unrejected_appeals():
    """Confirmed appeals no moderator rejected: the deliverable ones and those held
    (held_by_case), for counts grouped by columns that leave `flagged` out."""
    return sa.and_(
        Letter.kind == "appeal", Letter.status == "confirmed", Letter.moderation != "rejected"
    )


def held_by_case():
    """{case_id: appeals that wait for a moderator because automatic flags marked them}."""
    rows = db.session.execute(
        sa.select(Letter.case_id, sa.func.count())
        .where(
            Letter.status == "confirmed",
            Letter.moderation == "pending",
            Letter.flagged.is_(True),
            Letter.kind == "appeal",
        )
        .group_by(Letter.case_id)
    )
    return dict(rows.all())


def deliverable_solidarity():
    """Solidarity messages reach a person at risk only once a moderator approved them."""
    return sa.and_(
        Letter.kind == "solidarity",
        Letter.status == "confirmed",
        Letter.moderation == "approved",
    )


def appeal_rows(case_id):
    """The columns of a case's deliverable appeals that the CSV and the PDF show, by id."""
    return letter_rows(case_id, deliverable_appeals())


def letter_rows(case_id, where):
    """The columns of the case's letters matching `where` that the files show, by id."""
    return (
        sa.select(
            Letter.id,
            Letter.confirmed_at,
            Letter.name,
            Letter.city,
            Letter.country,
            Letter.language,
            Partner.slug.label("partner"),  # where the letter was written: empty for our site
            Letter.body,
        )
        .outerjoin(Partner, Partner.id == Letter.partner_id)
        .where(Letter.case_id == case_id, where)
        .order_by(Letter.id)
    )


def stream(statement):
    """Rows of `statement`, BATCH at a time from a server-side cursor, on a connection of
    its own that is given back when the rows run out or the reader stops."""
    with (
        db.engine.connect() as connection,
        connection.execution_options(yield_per=BATCH).execute(statement) as rows,
    ):
        yield from rows


def safe_cell(value):
    """A cell that a spreadsheet shows as text and never runs as a formula.

    Text starting with = + - @ or a tab or line break gets a leading single quote (OWASP's
    advice against CSV injection): a supporter's name or letter must not run on a staff
    member's computer.
    """
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def appeals_csv(case_id):
    """The case's deliverable appeals as CSV text: see letters_csv."""
    return letters_csv(appeal_rows(case_id))


def letters_csv(statement):
    """The letters of `statement` (letter_rows) as CSV text, in chunks for a streaming
    response.

    Starts with a byte order mark so that spreadsheet programs read it as UTF-8 (Arabic,
    Turkish and emoji intact). Never the email address. The rows are read while the
    response is sent: wrap this in flask.stream_with_context.
    """
    names = country_names("en")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for number, row in enumerate(stream(statement), 1):
        confirmed = row.confirmed_at.isoformat(" ", "seconds") if row.confirmed_at else ""
        country = names.get(row.country, row.country)
        cells = [row.id, confirmed, row.name, row.city, row.country, country, row.language]
        cells.append(row.partner or "")
        writer.writerow([safe_cell(cell) for cell in [*cells, row.body]])
        if number % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def appeal_batches(case_id, size):
    """The case's deliverable appeals cut into printable files: see batches()."""
    return batches(sa.and_(Letter.case_id == case_id, deliverable_appeals()), size)


def solidarity_batches(case_id, size):
    """The case's approved solidarity messages cut into booklet volumes: see batches()."""
    return batches(sa.and_(Letter.case_id == case_id, deliverable_solidarity()), size)


def batches(where, size):
    """The letters matching `where` in id order, cut into files of `size` letters.

    Returns [(after_id, last_id, letters)]: a batch holds the letters with after_id < id <=
    last_id, so batches never overlap and a new letter (a higher id) never moves an
    earlier batch. One pass over the letters, numbered by a window function.
    """
    numbered = (
        sa.select(Letter.id, (sa.func.row_number().over(order_by=Letter.id) - 1).label("n"))
        .where(where)
        .subquery()
    )
    batch = numbered.c.n // size
    rows = db.session.execute(
        sa.select(sa.func.max(numbered.c.id), sa.func.count()).group_by(batch).order_by(batch)
    ).all()
    found, after_id = [], 0
    for last_id, letters in rows:
        found.append((after_id, last_id, letters))
        after_id = last_id
    return found


def appeals_in_range(case_id, after_id, last_id):
    """How many deliverable appeals a batch's id range holds now."""
    return in_range(sa.and_(Letter.case_id == case_id, deliverable_appeals()), after_id, last_id)


def solidarity_in_range(case_id, after_id, last_id):
    """How many approved solidarity messages a volume's id range holds now."""
    where = sa.and_(Letter.case_id == case_id, deliverable_solidarity())
    return in_range(where, after_id, last_id)


def in_range(where, after_id, last_id):
    return db.session.scalar(
        sa.select(sa.func.count()).where(where, Letter.id > after_id, Letter.id <= last_id)
    )
