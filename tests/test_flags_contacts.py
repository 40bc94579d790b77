"""The other automatic flags: links, phone numbers and email addresses (and never the
years, dates and counts of a campaign), shouting, all of them at once in display order, and
the fingerprint that tells when one message has been sent many times."""

import hashlib
import re

import pytest
from sample_letters import SOLIDARITY_AR, SOLIDARITY_EN

from moderation.flags import FLAGS, LABELS, fingerprint, text_flags


def test_flags_are_listed_in_display_order_each_with_a_label():
    assert FLAGS == ("abuse", "link", "phone", "email", "shouting", "repeated", "fast")
    assert list(LABELS) == list(FLAGS)
    labels = [str(label) for label in LABELS.values()]
    assert all(labels) and len(set(labels)) == len(labels)


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
