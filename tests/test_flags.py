"""Automatic flags: each one raised where a moderator should look first, and never by
the ordinary words of human-rights work, numbers of the campaign or another language."""

import hashlib
import re

import pytest

from moderation import flags
from moderation.flags import DEFAULT_WORDS, FLAGS, LABELS, fingerprint, text_flags

# Realistic letters, full of words that a naive filter would take for abuse.
APPEAL_EN = (
    "Dear Attorney General, I am writing about Germain Rukuki, a human rights defender "
    "serving a 32-year prison sentence for his peaceful activism. Reports of torture and "
    "ill-treatment in detention must be investigated, and those responsible for abuse, "
    "murder or rape must face justice. Nobody should be tortured, shot, blinded or killed "
    "for defending human rights, and nobody should die in prison. The death penalty and "
    "every execution violate the right to life. I urge you to release him and to end the "
    "violence against activists. Since 1961 people have written letters like this one; "
    "last year more than 6 million messages were sent, and an earlier edition counted "
    "3,700,000. Yours sincerely, Sam Dick, Scunthorpe"
)
SOLIDARITY_EN = (
    "Gustavo, you were struck in both eyes and blinded by police firing rubber and metal "
    "ammunition at protesters, and still you speak out. They tried to kill your hope and "
    "failed. We will not let the world forget, and we will keep writing until there is "
    "justice. Stay strong! From a class of 22-year-old psychology students who passed "
    "your story around the whole campus. ❤️✊"
)
APPEAL_ES = (
    "Señor Fiscal Nacional: le escribo por Gustavo Gatica, estudiante de 22 años que fue "
    "cegado por disparos de la policía durante una protesta en 2019. La tortura, los malos "
    "tratos, la violencia policial y el abuso de la fuerza deben investigarse. Nadie debería "
    "morir, ser torturado, violado o asesinado por protestar, y la muerte y la ejecución "
    "no pueden quedar impunes. No es una disputa política: es un cómputo de víctimas. "
    "Le pido que los responsables rindan cuentas. Atentamente, Lucía, Valparaíso"
)
SOLIDARITY_ES = (
    "Querido Gustavo: te dispararon y te cegaron, quisieron matar tu esperanza y no "
    "pudieron. Desde hace más de 60 años se escriben cartas contra la tortura, la prisión "
    "injusta y la pena de muerte, y hoy te escribimos a ti desde Concepción. ¡Fuerza! "
    "Un abrazo de todo el curso. 💪"
)
SOLIDARITY_FR = (
    "Chère Nassima, vous êtes détenue depuis plus de deux ans pour avoir défendu les "
    "droits des femmes. La torture, les violences et la menace d'exécution ne vous feront "
    "pas taire. Un groupe d'élèves de Puteaux vous écrit : vous n'êtes pas seule !"
)
SOLIDARITY_TR = (
    "Sevgili ODTÜ Onur Savunucuları, kampüste barışçıl bir oturma eylemi düzenlediğiniz "
    "için yargılandığınızı duyduk. İşkence, şiddet ve hapis cezası tehdidi altında bile "
    "cesaretinizi kaybetmediniz. Sık sık sizi düşünüyoruz; bu SIKINTILI günler geçecek. "
    "İstanbul'dan ve İzmir'den sevgiyle!"
)
SOLIDARITY_AR = (
    "إلى نسيمة السادة، نحن معك. نعلم أنك محتجزة منذ أكثر من عامين لأنك دافعت عن حقوق "
    "النساء. التعذيب والسجن والعنف والتهديد بالإعدام لن تكسر إرادتك، ولن يقتلوا الأمل. "
    "نطالب بالإفراج عنك فوراً ودون قيد أو شرط. كوني قوية، لستِ وحدك."
)


def test_flags_are_listed_in_display_order_each_with_a_label():
    assert FLAGS == ("abuse", "link", "phone", "email", "shouting", "repeated", "fast")
    assert list(LABELS) == list(FLAGS)
    labels = [str(label) for label in LABELS.values()]
    assert all(labels) and len(set(labels)) == len(labels)


def test_default_words_cover_the_campaign_languages_as_plain_data():
    assert {"en", "es", "fr", "tr", "ar"} <= set(DEFAULT_WORDS)
    for words in DEFAULT_WORDS.values():
        assert len(words) >= 10
        assert all(isinstance(word, str) and word == word.strip() for word in words)


@pytest.mark.parametrize(
    ("language", "entry"),
    [(lang, entry) for lang, words in DEFAULT_WORDS.items() for entry in words],
)
def test_every_default_entry_finds_itself(language, entry):
    """An entry written as admins write it must match its own spelling in a message."""
    assert text_flags(f"Well: {entry.rstrip('*')}.", language) == ["abuse"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (APPEAL_EN, "en"),
        (SOLIDARITY_EN, "en"),
        (APPEAL_ES, "es"),
        (SOLIDARITY_ES, "es"),
        (SOLIDARITY_FR, "fr"),
        (SOLIDARITY_TR, "tr"),
        (SOLIDARITY_AR, "ar"),
    ],
)
def test_real_letters_about_torture_and_killing_raise_no_flag(text, language):
    assert text_flags(text, language) == []


@pytest.mark.parametrize(
    "word",
    [
        "torture",
        "tortured",
        "murder",
        "murdered",
        "killed",
        "kill",
        "killing",
        "rape",
        "raped",
        "death",
        "die",
        "died",
        "execution",
        "executed",
        "prison",
        "violence",
        "abuse",
        "human rights abuse",
        "shot",
        "shoot",
        "blinded",
        "beaten",
        "hell",
        "terrorism",
        "kill the bill",
        "they want to kill him",
        "nobody deserves to die in prison",
    ],
)
def test_words_of_human_rights_work_are_not_abuse_alone(word):
    assert "abuse" not in text_flags(word, "en")
    assert "abuse" not in text_flags(word.upper(), "en")


@pytest.mark.parametrize(
    "word",
    [
        "tortura",
        "torturado",
        "asesinato",
        "asesinado",
        "matar",
        "mataron",
        "violación",
        "muerte",
        "morir",
        "ejecución",
        "prisión",
        "cárcel",
        "violencia",
        "abuso",
        "disparo",
        "cegado",
        "quisieron matarte",
    ],
)
def test_spanish_words_of_human_rights_work_are_not_abuse(word):
    assert "abuse" not in text_flags(word, "es")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I hope you die in there", "en"),
        ("We will kill you", "en"),
        ("Kill yourself.", "en"),
        ("You deserve to die, traitor", "en"),
        ("Rot in hell", "en"),
        ("we know where you live", "en"),
        ("You're dead", "en"),
        ("What a bitch", "en"),
        ("Fucking liar", "en"),
        ("shut up you asshole", "en"),
        ("Ojalá te mueras en la cárcel", "es"),
        ("Te vamos a matar", "es"),
        ("hijo de puta", "es"),
        ("Vete a la mierda", "es"),
        ("Je vais te tuer", "fr"),
        ("Ferme ta gueule", "fr"),
        ("J’espère que tu meurs", "fr"),
        ("Seni öldüreceğiz", "tr"),
        ("siktir git", "tr"),
        ("orospu çocuğu", "tr"),
        ("سنقتلك", "ar"),
        ("يا كلب", "ar"),
    ],
)
def test_abuse_and_threats_are_flagged(text, language):
    assert text_flags(text, language) == ["abuse"]


@pytest.mark.parametrize(
    "text",
    [
        "f*ck you",
        "F**K",
        "sh*t",
        "sh1t",
        "b!tch",
        "@sshole",
        "a$$",
        "b.i.t.c.h",
        "f u c k",
        "k-i-l-l y-o-u",
        "FUUUUUCK",
        "shiiiit",
        "killyou",
        "k1ll y0u",
        "ＦＵＣＫ",  # full-width letters
        "𝐟𝐮𝐜𝐤",  # mathematical bold
        "fu\u200bck",  # zero-width space
        "fu\u00adck",  # soft hyphen
        "fück",
        "kıll you",  # a Turkish dotless i standing in for an i
        "(fuck)",
        "«bitch»",
        "💩fuck",
    ],
)
def test_common_obfuscations_are_seen_through(text):
    assert text_flags(text, "en") == ["abuse"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Scunthorpe", "en"),
        ("the assassination of a journalist", "en"),
        ("the whole class wrote", "en"),
        ("she passed the exam", "en"),
        ("embarrassed officials", "en"),
        ("the Assad government", "en"),
        ("a compass and a bass guitar", "en"),
        ("the skill you showed", "en"),
        ("Matsushita", "en"),
        ("Dick Marty's report", "en"),
        ("Sussex and Essex", "en"),
        ("cocktail", "en"),
        ("una disputa por la computadora", "es"),
        ("el cómputo final", "es"),
        ("Puteaux", "fr"),
        ("constitution", "fr"),
        ("Sıkıntılı günler", "tr"),
        ("SIKINTI", "tr"),
        ("Sık sık yazıyoruz", "tr"),
        ("amnesty", "tr"),
        ("كلب الحراسة", "ar"),
    ],
)
def test_words_that_contain_or_resemble_listed_words_do_not_flag(text, language):
    assert text_flags(text, language) == []


@pytest.mark.parametrize(
    "text",
    [
        "SİKTİR GİT",
        "siktir git",
        "SIKTIR GIT",  # typed without a Turkish keyboard
        "sİkTİr",
        "gerizekalı",
        "GERİZEKALI",  # capitals of the dotless i
        "AMINA KOYAYIM",
        "amına koyayım",
    ],
)
def test_turkish_dotted_and_dotless_i_fold_to_one_spelling(text):
    assert text_flags(text, "tr") == ["abuse"]


@pytest.mark.parametrize(
    "text",
    [
        "سأقتلك",
        "ساقتلك",  # without the hamza
        "سَأَقْتُلُكَ",  # with vowel marks
        "سـأقـتـلك",  # with tatweel
        "وسأقتلك",  # with "and" joined
        "عاهره",  # ta marbuta written as ha
    ],
)
def test_arabic_spellings_fold_to_one(text):
    assert text_flags(text, "ar") == ["abuse"]


def test_a_message_is_checked_against_its_own_language_and_english():
    assert text_flags("te vamos a matar", "es") == ["abuse"]
    assert text_flags("te vamos a matar", "en") == []  # Spanish list, English message
    assert text_flags("Fuck you", "es") == ["abuse"]  # people mix in English
    assert text_flags("FUCK YOU", "tr") == ["abuse"]  # Turkish folding keeps English words
    assert text_flags("Fuck you", "de") == ["abuse"]  # a language without a list
    assert text_flags("te vamos a matar", "es-MX") == ["abuse"]
    assert text_flags("te vamos a matar", "es_419") == ["abuse"]
    assert text_flags("fuck", None) == ["abuse"]


def test_admin_word_lists_replace_the_defaults():
    words = {"en": ["numpty", "go away forever"], "es": ("tontín",)}
    assert text_flags("You numpty!", "en", words) == ["abuse"]
    assert text_flags("Please go away, forever", "en", words) == []  # a comma breaks a phrase
    assert text_flags("go  away\nforever", "en", words) == ["abuse"]
    assert text_flags("fuck", "en", words) == []
    assert text_flags("Eres un TONTÍN", "es", words) == ["abuse"]
    assert text_flags("You numpty", "es", words) == ["abuse"]
    assert text_flags("fuck", "en", {}) == []


def test_word_patterns_are_compiled_once_per_list():
    words = {"en": ("numpty",)}
    text_flags("numpty", "en", words)
    before = flags.abuse_pattern.cache_info()
    text_flags("a numpty", "en", {"en": ("numpty",)})
    after = flags.abuse_pattern.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


def test_a_trailing_star_in_an_entry_allows_word_endings_only():
    words = {"en": ("gobshite*", "eejit")}
    assert text_flags("gobshites", "en", words) == ["abuse"]
    assert text_flags("eejits", "en", words) == []
    assert text_flags("begobshite", "en", words) == []


@pytest.mark.parametrize(
    "text",
    [
        "See https://example.org/x",
        "http://x.co",
        "HTTPS://EXAMPLE.ORG",
        "www.example.org",
        "WWW.EXAMPLE.ORG",
        "visit example.com",
        "example.com/path?x=1",
        "bit.ly/3xYz",
        "t.me/channel",
        "Amnesty.org.uk",
        "watch youtu.be/abc",
        "(see example.net).",
    ],
)
def test_links_are_flagged(text):
    assert text_flags(text, "en") == ["link"]


@pytest.mark.parametrize(
    "text",
    [
        "Free him.Now!",
        "It is over.Free them all",
        "e.g. this, i.e. that",
        "the U.S.A. and the U.K.",
        "3.700.000 letters",
        "photo.jpg",
        "Mr.Smith",
        "version 2.0",
        "and/or",
        "I volunteer at Amnesty",
    ],
)
def test_sentences_and_numbers_are_not_links(text):
    assert "link" not in text_flags(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "call +90 212 555 12 34",
        "+1 (555) 123-4567",
        "(555) 123-4567",
        "555-1234",
        "0612345678",
        "06 12 34 56 78",
        "612 345 678",
        "+44 7700 900123",
        "+447700900123",
        "555.123.4567",
        "030/1234567",
        "٠٥٥١٢٣٤٥٦٧",  # Arabic-Indic digits
        "+٩٦٦ ٥٥ ١٢٣ ٤٥٦٧",
        "ring 0212 555 12 34.",
    ],
)
def test_phone_numbers_are_flagged(text):
    assert text_flags(text, "en") == ["phone"]


@pytest.mark.parametrize(
    "text",
    [
        "since 2019",
        "founded in 1961",
        "from 1961 to 2017, 2019",
        "2019-2021",
        "2016 - 2017",
        "In 2019 300 protesters were injured",
        "12/03/2021",
        "12.03.2021",
        "2021-03-12",
        "on 12-03-2021",
        "a 32-year sentence",
        "a 22-year-old student",
        "6 million messages",
        "3,700,000 letters",
        "3.700.000 cartas",
        "6 000 000 de messages",
        "6000000 letters",
        "1 500 000",
        "3.7 million",
        "10:30",
        "cell 12, block 4",
    ],
)
def test_years_dates_and_counts_are_not_phones(text):
    assert "phone" not in text_flags(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "write to jo@example.org",
        "jo.smith+w4r@mail.example.co.uk",
        "maría@ejemplo.es",
        "jo at example dot org",
        "jo [at] example [dot] org",
        "jo(at)example.org",
        "jo AT example DOT org",
        "jo arroba ejemplo punto com",
    ],
)
def test_email_addresses_are_flagged(text):
    assert "email" in text_flags(text, "en")


@pytest.mark.parametrize(
    "text",
    ["I volunteer at amnesty.org", "Tweet us @AmnestyUK", "meet at 5 pm", "letters at the school"],
)
def test_at_signs_and_the_word_at_are_not_emails(text):
    assert "email" not in text_flags(text, "en")


def test_an_email_address_is_not_also_a_link():
    assert text_flags("write to maria.es@example.org", "en") == ["email"]


def cased(upper, lower):
    """A message with exactly `upper` capitals and `lower` small letters."""
    return "FREE " * (upper // 4) + "G" * (upper % 4) + " " + "x" * lower + "!"


@pytest.mark.parametrize(
    ("text", "shouting"),
    [
        ("FREE GUSTAVO NOW!", False),  # a slogan, not shouting
        ("STAY STRONG NASSIMA", False),
        (cased(upper=19, lower=0), False),
        (cased(upper=20, lower=0), True),
        (cased(upper=15, lower=5), True),  # 75 %
        (cased(upper=14, lower=6), False),  # 70 % exactly
        (cased(upper=140, lower=60), False),
        (cased(upper=141, lower=59), True),
        ("WE ARE ALL WITH YOU GUSTAVO, STAY STRONG!", True),
        ("¡LIBERTAD PARA GUSTAVO, JUSTICIA YA, NUNCA MÁS!", True),
        ("ADALET YERİNİ BULANA KADAR YAZACAĞIZ", True),
        (SOLIDARITY_EN, False),
        (SOLIDARITY_AR + " FREE NASSIMA AL-SADA NOW!", True),  # Arabic letters have no case
        ("❤️" * 40 + " FREE GUSTAVO GATICA NOW", True),  # nor have emoji
    ],
)
def test_shouting_is_a_long_message_in_capitals(text, shouting):
    assert ("shouting" in text_flags(text, "en")) is shouting


def test_cased_builds_what_the_boundary_tests_need():
    text = cased(upper=15, lower=5)
    assert len(re.findall(r"[A-Z]", text)) == 15 and len(re.findall(r"[a-z]", text)) == 5
    assert len(re.findall(r"[A-Z]", cased(upper=20, lower=0))) == 20


@pytest.mark.parametrize("text", ["", "   ", "\n", "❤️💪✊", "🕊️ 🕯️"])
def test_empty_and_emoji_only_messages_raise_nothing(text):
    assert text_flags(text, "en") == []


def test_every_flag_at_once_comes_in_display_order():
    text = "FUCK YOU. CALL +44 7700 900123 OR WRITE JO@EXAMPLE.ORG, SEE WWW.EXAMPLE.ORG"
    assert text_flags(text, "en") == ["abuse", "link", "phone", "email", "shouting"]
    assert "repeated" not in text_flags(text, "en")  # counted by the queue, not here


@pytest.mark.parametrize(
    "copy",
    [
        "Stay strong, Gustavo!",
        "stay strong gustavo",
        "  STAY   STRONG,\n\nGUSTAVO!!!  ",
        "Stay strong… Gustavo.",
        "Stay\u200b strong, Gustavo!",  # a zero-width space
        "Ｓｔａｙ ｓｔｒｏｎｇ, Ｇｕｓｔａｖｏ!",  # full-width
    ],
)
def test_copies_of_a_message_share_a_fingerprint(copy):
    assert fingerprint(copy) == fingerprint("Stay strong, Gustavo!")


def test_fingerprints_are_short_stable_and_tell_messages_apart():
    value = fingerprint("Stay strong, Gustavo!")
    assert re.fullmatch(r"[0-9a-f]{16}", value)
    assert value == "cdb4d9fdad9bcd01"  # stored in the database: must never change
    assert value == hashlib.blake2b(b"stay strong gustavo", digest_size=8).hexdigest()
    assert fingerprint("Stay strong, Nassima!") != value
    assert fingerprint("Stay strong Gustavo, stay strong") != value
    assert fingerprint("İSTANBUL'DAN SEVGİLER") == fingerprint("istanbul’dan sevgiler")
    assert fingerprint("نحن مَعَكِ") == fingerprint("نحن معك")
    assert fingerprint("❤️") == fingerprint("❤")  # the emoji presentation selector
    assert len({fingerprint("❤️"), fingerprint("💪"), fingerprint("")}) == 3
