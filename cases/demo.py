"""The demo edition: four cases from the campaign's facts, with texts written for the site.

The English texts are here; the other languages' are in demo_texts/<language>.json
(per case: the texts of cases.languages.TRANSLATED_FIELDS, its "appeal_template" and its
"solidarity_suggestions"), loaded from whichever files are there. Officials are named by title only, and their postal
addresses are left for campaign staff to confirm: the demo never invents a real-looking
address.
"""

import json
from pathlib import Path

import sqlalchemy as sa

from cases.languages import TRANSLATED_FIELDS
from extensions import db
from models import AuditEvent, Case

ADDRESS_TBC = "Postal address to be confirmed by campaign staff."
TEXTS_FOLDER = Path(__file__).resolve().parent / "demo_texts"
# Each case's person's language (the solidarity booklet's) and the official's.
LANGUAGES = {
    "germain-rukuki": ("fr", "fr"),
    "gustavo-gatica": ("es", "es"),
    "nassima-al-sada": ("ar", "ar"),
    "metu-pride-defenders": ("tr", "tr"),
}

CASES = [
    {
        "slug": "germain-rukuki",
        "name": "Germain Rukuki",
        "country": "BI",
        "summary": "A human rights defender serving 32 years in prison for his peaceful work.",
        "story": (
            "Germain Rukuki is a human rights defender from Burundi. He spoke up, "
            "peacefully, for the rights of other people.\n\n"
            "For that peaceful activism he was sentenced to 32 years in prison. Every day "
            "he spends behind bars is a day taken from him and from his family for doing "
            "nothing but defending human rights."
        ),
        "ask": (
            "We are asking the authorities of Burundi to release Germain Rukuki immediately "
            "and unconditionally, and to let him return to his family.\n\n"
            "Until he is free, he must be protected from ill-treatment and be able to see "
            "his family and lawyers."
        ),
        "target_title": "Burundi's Minister of Justice",
        "appeal_templates": {
            "en": (
                "Dear Minister,\n\n"
                "I am writing to ask you to release Germain Rukuki immediately and "
                "unconditionally.\n\n"
                "Germain Rukuki is a human rights defender. He is serving a 32-year prison "
                "sentence only because of his peaceful work against torture and for the "
                "rights of others. Defending human rights is not a crime.\n\n"
                "Until he is released, please make sure that he is treated humanely and can "
                "see his family and his lawyers regularly.\n\n"
                "Yours sincerely,"
            ),
            "fr": (
                "Monsieur le Ministre,\n\n"
                "Je vous écris pour vous demander de libérer Germain Rukuki immédiatement et "
                "sans condition.\n\n"
                "Germain Rukuki est un défenseur des droits humains. Il purge une peine de "
                "32 ans de prison uniquement en raison de son action pacifique contre la "
                "torture et pour les droits d'autrui. Défendre les droits humains n'est pas "
                "un crime.\n\n"
                "Dans l'attente de sa libération, veillez à ce qu'il soit traité avec "
                "humanité et puisse voir régulièrement sa famille et ses avocats.\n\n"
                "Je vous prie d'agréer, Monsieur le Ministre, l'expression de ma haute "
                "considération,"
            ),
        },
        "solidarity_prompt": (
            "Tell Germain he is not forgotten. A few words of hope mean a lot in a prison cell."
        ),
        "solidarity_suggestions": {
            "en": [
                (
                    "Dear Germain, you are not forgotten. People all over the world are thinking of "
                    "you and your family, and we will keep speaking up until you are free."
                ),
                (
                    "Germain, defending human rights is not a crime. Thank you for your courage. Stay"
                    " strong: we stand with you."
                ),
                (
                    "Sending you hope and warm wishes from far away. Your family is in our thoughts, "
                    "and we will not stop writing until you are home."
                ),
            ]
        },
        "goal": 250000,
        "sort_order": 1,
    },
    {
        "slug": "gustavo-gatica",
        "name": "Gustavo Gatica",
        "country": "CL",
        "summary": "A 22-year-old student blinded by police fire at a protest against inequality.",
        "story": (
            "Gustavo Gatica was a 22-year-old psychology student when he joined the "
            "protests in Chile against rising prices and inequality.\n\n"
            "While he was protesting, police fired rubber and metal ammunition. Gustavo "
            "was struck in both eyes and blinded. A young man lost his sight for taking "
            "part in a protest."
        ),
        "ask": (
            "We are asking Chile's prosecutors to carry out a prompt, thorough and impartial "
            "investigation, so that everyone responsible for Gustavo's injuries, including "
            "those in command, is brought to justice.\n\n"
            "Gustavo must receive full reparation for the harm he suffered."
        ),
        "target_title": "Chile's National Prosecutor",
        "appeal_templates": {
            "en": (
                "Dear National Prosecutor,\n\n"
                "I am writing about Gustavo Gatica, a psychology student who was blinded in "
                "both eyes when police fired rubber and metal ammunition at a protest.\n\n"
                "I urge you to ensure a prompt, thorough and impartial investigation, and to "
                "bring everyone responsible to justice, including those who gave the "
                "orders. Gustavo must also receive full reparation.\n\n"
                "Peaceful protest is a right, and no one should lose their sight for "
                "exercising it.\n\n"
                "Yours sincerely,"
            ),
            "es": (
                "Estimado señor Fiscal Nacional:\n\n"
                "Le escribo por Gustavo Gatica, estudiante de psicología que quedó ciego de "
                "ambos ojos cuando la policía disparó munición de goma y metal en una "
                "protesta.\n\n"
                "Le pido que garantice una investigación pronta, exhaustiva e imparcial, y "
                "que todas las personas responsables, incluidas las que dieron las órdenes, "
                "comparezcan ante la justicia. Gustavo también debe recibir una reparación "
                "integral.\n\n"
                "La protesta pacífica es un derecho, y nadie debería perder la vista por "
                "ejercerlo.\n\n"
                "Atentamente,"
            ),
        },
        "solidarity_prompt": (
            "Send Gustavo your support as he rebuilds his life. Tell him where you are "
            "writing from."
        ),
        "solidarity_suggestions": {
            "en": [
                (
                    "Dear Gustavo, your courage inspires me. You are not alone: people everywhere "
                    "stand with you and demand justice."
                ),
                (
                    "Gustavo, I am sending you strength and warmth as you rebuild your life. No one "
                    "should pay such a price for protesting peacefully."
                ),
                (
                    "We see you, Gustavo, and we will keep asking for justice until those responsible"
                    " are held to account. A big hug from your friends around the world."
                ),
            ]
        },
        "goal": 200000,
        "sort_order": 2,
    },
    {
        "slug": "nassima-al-sada",
        "name": "Nassima al-Sada",
        "country": "SA",
        "summary": "A women's rights activist detained for more than two years.",
        "story": (
            "Nassima al-Sada is a prominent activist in Saudi Arabia who has campaigned "
            "for women's rights.\n\n"
            "She has been detained for more than two years, only for defending women's "
            "rights. She should never have been locked up."
        ),
        "ask": (
            "We are asking the King of Saudi Arabia to release Nassima al-Sada immediately "
            "and unconditionally, and to drop any charges against her that relate to her "
            "peaceful human rights work."
        ),
        "target_title": "His Majesty the King of Saudi Arabia",
        "appeal_templates": {
            "en": (
                "Your Majesty,\n\n"
                "I am writing to ask you to release Nassima al-Sada immediately and "
                "unconditionally.\n\n"
                "Nassima al-Sada has been detained for more than two years solely for her "
                "peaceful work defending women's rights. Please ensure that any charges "
                "against her relating to that work are dropped, and that while she remains "
                "in detention she can contact her family and lawyers.\n\n"
                "Yours respectfully,"
            ),
            "ar": (
                "صاحب الجلالة،\n\n"
                "أكتب إليكم لأطلب الإفراج عن نسيمة السادة فورًا ودون قيد أو شرط.\n\n"
                "نسيمة السادة محتجزة منذ أكثر من عامين لمجرد عملها السلمي دفاعًا عن حقوق "
                "المرأة. أرجو إسقاط أي تهم موجهة إليها تتعلق بهذا العمل، وضمان تواصلها مع "
                "عائلتها ومحاميها ما دامت محتجزة.\n\n"
                "مع فائق الاحترام،"
            ),
        },
        "solidarity_prompt": ("Let Nassima know that people around the world stand with her."),
        "solidarity_suggestions": {
            "en": [
                (
                    "Dear Nassima, thank you for standing up for women's rights. You are not alone: "
                    "people around the world stand with you."
                ),
                (
                    "Nassima, your courage gives hope to so many women. We think of you every day and"
                    " will keep calling for your freedom."
                ),
                (
                    "Sending you love and strength, Nassima. Your voice matters, and we will not let "
                    "the world forget it."
                ),
            ]
        },
        "goal": 300000,
        "sort_order": 3,
    },
    {
        "slug": "metu-pride-defenders",
        "name": "METU Pride Defenders",
        "country": "TR",
        "summary": "Students on trial for a peaceful sit-in after their pride march was banned.",
        "story": (
            "Every year, students at the Middle East Technical University (METU) in Ankara "
            "held a pride march on campus. When the university cancelled it, students "
            "organised a peaceful sit-in to protest.\n\n"
            "Now a group of these students face trial and a possible prison sentence, "
            "simply for organising a peaceful protest for LGBTI+ rights."
        ),
        "ask": (
            "We are asking Turkey's authorities to acquit the METU Pride Defenders of all "
            "charges, and to protect the right of everyone, including LGBTI+ people, to "
            "gather peacefully."
        ),
        "target_title": "Türkiye's Minister of Justice",
        "appeal_templates": {
            "en": (
                "Dear Minister,\n\n"
                "I am writing about the students of the Middle East Technical University "
                "who face trial for a peaceful sit-in on their campus.\n\n"
                "Peaceful assembly is a human right, for LGBTI+ people as for everyone. I "
                "urge you to ensure that the METU Pride Defenders are acquitted of all "
                "charges and that the right to peaceful assembly is respected.\n\n"
                "Yours sincerely,"
            ),
            "tr": (
                "Sayın Bakan,\n\n"
                "Kampüslerinde barışçıl bir oturma eylemi yaptıkları için yargılanan Orta "
                "Doğu Teknik Üniversitesi öğrencileri hakkında yazıyorum.\n\n"
                "Barışçıl toplanma, LGBTİ+ bireyler dahil herkesin insan hakkıdır. ODTÜ "
                "Onur Savunucularının tüm suçlamalardan beraat etmesini ve barışçıl "
                "toplanma hakkına saygı gösterilmesini sağlamanızı rica ediyorum.\n\n"
                "Saygılarımla,"
            ),
        },
        "solidarity_prompt": (
            "Tell the students they are not alone. Messages in any language are welcome."
        ),
        "solidarity_suggestions": {
            "en": [
                (
                    "To the METU Pride Defenders: you are not alone. Love and solidarity from all of "
                    "us who stand with you."
                ),
                (
                    "Peaceful protest is a right, and you used it with courage. We are proud of you "
                    "and will keep standing by your side."
                ),
                (
                    "Sending strength and pride to every one of you. Keep going: people around the "
                    "world are with you."
                ),
            ]
        },
        "goal": 150000,
        "sort_order": 4,
    },
]


def demo_texts():
    """{language: {slug: {text: ...}}} from each demo_texts/<language>.json there is."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(TEXTS_FOLDER.glob("*.json"))
        if path.stem != "en"
    }


def demo_cases():
    """CASES as the database holds them: with their texts and letters in every language
    demo_texts/ has, and their person's and official's languages."""
    texts = demo_texts()
    found = []
    for data in CASES:
        slug = data["slug"]
        translations, appeals = {}, dict(data["appeal_templates"])
        suggestions = dict(data.get("solidarity_suggestions") or {})
        for language, cases in texts.items():
            written = cases.get(slug) or {}
            fields = {name: written[name] for name in TRANSLATED_FIELDS if written.get(name)}
            if fields:
                translations[language] = fields
            if written.get("appeal_template"):
                appeals.setdefault(language, written["appeal_template"])  # this file's first
            if written.get("solidarity_suggestions"):
                suggestions.setdefault(language, written["solidarity_suggestions"])
        person, target = LANGUAGES[slug]
        found.append(
            {
                **data,
                "appeal_templates": appeals,
                "solidarity_suggestions": suggestions,
                "translations": translations,
                "person_language": person,
                "target_language": target,
            }
        )
    return found


def staff_changes(case):
    """The fields staff have ever changed on `case`, as the audit log names them
    ("summary", "appeal_templates", "translations.es.story"...)."""
    details = db.session.scalars(
        sa.select(AuditEvent.details).where(
            AuditEvent.action == "case.update",
            AuditEvent.target_type == Case.__tablename__,
            AuditEvent.target_id == case.id,
        )
    )
    return {name for each in details for name in (each or {}).get("changed", [])}


def fill_in(case, data):
    """Add to an existing demo case the demo texts it lacks in other languages, and its
    languages while they are still the default; never a text or a setting staff changed.
    Returns the names of what was filled in."""
    changed = staff_changes(case)
    filled = []
    translations = {code: dict(texts) for code, texts in (case.translations or {}).items()}
    for code, texts in data["translations"].items():
        for name, value in texts.items():
            have = translations.setdefault(code, {})
            # A text whose English staff changed is theirs to translate: the demo's would
            # say what the English no longer says.
            staff_own = name in changed or f"translations.{code}.{name}" in changed
            if not have.get(name) and not staff_own:
                have[name] = value
                filled.append(f"{name} ({code})")
    appeals = dict(case.appeal_templates or {})
    if "appeal_templates" not in changed:
        for code, letter in data["appeal_templates"].items():
            if not appeals.get(code):
                appeals[code] = letter
                filled.append(f"appeal letter ({code})")
    suggestions = dict(case.solidarity_suggestions or {})
    for code, messages in data.get("solidarity_suggestions", {}).items():
        # A language staff wrote, or emptied, on the case form is theirs.
        if not suggestions.get(code) and f"solidarity_suggestions.{code}" not in changed:
            suggestions[code] = messages
            filled.append(f"suggested messages ({code})")
    for name in ("person_language", "target_language"):
        if getattr(case, name) == "en" != data[name] and name not in changed:
            setattr(case, name, data[name])
            filled.append(name)
    if filled:
        case.translations = {code: texts for code, texts in translations.items() if texts}
        case.appeal_templates = appeals
        case.solidarity_suggestions = suggestions
    return filled
