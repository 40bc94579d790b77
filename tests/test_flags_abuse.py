"""The automatic abuse flag: raised by abuse and threats in the campaign's languages, seen
through obfuscations and spelling variants, and never by the ordinary words of human-rights
work, names that contain a listed word, or another language."""

import pytest
from sample_letters import (
    APPEAL_EN,
    APPEAL_ES,
    SOLIDARITY_AR,
    SOLIDARITY_EN,
    SOLIDARITY_ES,
    SOLIDARITY_FR,
    SOLIDARITY_TR,
)

from moderation import flags
from moderation.flags import DEFAULT_WORDS, text_flags


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
