"""The demo's closed case and its outcome: a real Write for Rights success, told soberly, so
that the case page's news and the home page's "Letters work" show what staff will post.

Its English texts are here; the other languages' are in demo_texts/<language>.json under
its slug, with the update's title and text under "update". `flask --app app seed` adds the
case (closed) and its published update once, then only fills in translations they lack,
never a text staff wrote or changed (cases.demo.fill_in, and the audit log for the update).
"""

from datetime import date

import sqlalchemy as sa

from cases.demo import ADDRESS_TBC, demo_texts, fill_in
from cases.languages import TRANSLATED_FIELDS
from cases.updates import TRANSLATED_TEXTS
from extensions import db
from models import AuditEvent, Case, CaseUpdate, utcnow

CASE = {
    "slug": "maxima-acuna",
    "name": "Máxima Acuña",
    "country": "PE",
    "summary": "A farmer who stood up to a gold and copper mine that wanted her family's land.",
    "story": (
        "Máxima Acuña farms a plot of land with her family in the highlands of Cajamarca, "
        "in northern Peru. The company running one of the world's biggest gold and copper "
        "mines wanted that land for a new project.\n\n"
        "When she refused to leave, police came to evict the family and beat her and her "
        "daughter. The mining company then accused her of illegally occupying the land she "
        "farms, and she was put on trial."
    ),
    "ask": (
        "We asked Peru's authorities to drop the charges against Máxima Acuña and to "
        "protect her and her family, so that they can live on their land in peace."
    ),
    "target_title": "Peru's Minister of Justice and Human Rights",
    "appeal_templates": {
        "en": (
            "Dear Minister,\n\n"
            "I am writing about Máxima Acuña, a farmer in Cajamarca who faces criminal "
            "charges for staying on the land she farms with her family.\n\n"
            "Please make sure that the charges against her are dropped, and that she and her "
            "family are protected from violence and intimidation.\n\n"
            "Yours sincerely,"
        ),
    },
    "solidarity_prompt": "",
    "goal": 100000,
    "sort_order": 5,
    "person_language": "es",
    "target_language": "es",
}

UPDATE = {
    "title": "The criminal case against Máxima Acuña is over",
    "body": (
        "In May 2017, Peru's Supreme Court ruled in favour of Máxima Acuña, ending the "
        "criminal case in which the mining company had accused her of illegally occupying "
        "her own land.\n\n"
        "People around the world wrote to Peru's authorities and sent Máxima messages of "
        "support. Thank you to everyone who wrote."
    ),
    "happened_on": date(2017, 5, 3),
    "outcome": "charges_dropped",
}


def demo_case():
    """CASE with its texts and letters in every language of demo_texts/, and its update's
    translations under "update_translations"."""
    translations, appeals, update_texts = {}, dict(CASE["appeal_templates"]), {}
    for language, cases in demo_texts().items():
        written = cases.get(CASE["slug"]) or {}
        fields = {name: written[name] for name in TRANSLATED_FIELDS if written.get(name)}
        if fields:
            translations[language] = fields
        if written.get("appeal_template"):
            appeals.setdefault(language, written["appeal_template"])
        update = {name: (written.get("update") or {}).get(name) for name in TRANSLATED_TEXTS}
        if any(update.values()):
            update_texts[language] = {name: value for name, value in update.items() if value}
    data = {**CASE, "appeal_templates": appeals, "translations": translations}
    return data, update_texts


def seed_outcomes(existing):
    """Add the closed demo case and its published outcome, or fill in what they lack.
    `existing` maps slugs to the cases already stored. Returns (added slugs, {slug: what
    was filled in}); the caller commits."""
    data, update_texts = demo_case()
    case = existing.get(CASE["slug"])
    if case is None:
        case = Case(status="closed", closed_at=utcnow(), target_address=ADDRESS_TBC, **data)
        db.session.add(case)
        db.session.flush()
        published = utcnow()
        update = CaseUpdate(case_id=case.id, translations=update_texts, published_at=published)
        for name, value in UPDATE.items():
            setattr(update, name, value)
        db.session.add(update)
        return [case.slug], {}
    filled = fill_in(case, data) + fill_in_update(case, update_texts)
    return [], ({case.slug: filled} if filled else {})


def fill_in_update(case, update_texts):
    """Add the demo update's missing translations, while no one has edited it."""
    update = db.session.scalar(
        sa.select(CaseUpdate).where(
            CaseUpdate.case_id == case.id,
            CaseUpdate.created_by_id.is_(None),
            CaseUpdate.title == UPDATE["title"],
        )
    )
    if update is None or edited(update):
        return []
    translations = {code: dict(texts) for code, texts in (update.translations or {}).items()}
    filled = []
    for code, texts in update_texts.items():
        have = translations.setdefault(code, {})
        for name, value in texts.items():
            if not have.get(name):
                have[name] = value
                filled.append(f"update {name} ({code})")
    if filled:
        update.translations = translations
    return filled


def edited(update):
    return (
        db.session.scalar(
            sa.select(AuditEvent.id).where(
                AuditEvent.action == "case_update.edit",
                AuditEvent.target_type == CaseUpdate.__tablename__,
                AuditEvent.target_id == update.id,
            )
        )
        is not None
    )
