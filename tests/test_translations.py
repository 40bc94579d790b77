"""The translation workflow holds: every word a person reads is marked for translation, and
every shipped catalog translates every marked supporter-side string.

The catalogs are checked against what the code marks now (extracted here with Babel's API,
not against a committed .pot), so a string marked today fails the catalog test until
`make translations` has merged it and a translator has translated it.
"""

import ast
import io
import re
import shlex
import shutil
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.frontend import CommandLineInterface
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from jinja2 import Environment

from config import Config

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CATALOGS = ROOT / "translations"
SHIPPED = [code for code in Config.LANGUAGES if code != Config.BABEL_DEFAULT_LOCALE]

# The staff side stays English: a string marked only in these places need not be translated.
# Everything else is the supporter side. (A string marked both here and on the public side,
# such as a case-form word the case page also shows, is the supporter side's.)
STAFF_SIDE = (
    "blueprints/admin/",
    "blueprints/auth/",
    "templates/admin/",
    "templates/auth/",
    "templates/email/staff_",
    "templates/partials/_queue_",
    "staff/",
    "moderation/",
    "cases/",
    "partners/manage.py",
    "delivery/",
    "commands.py",
)
# ... except in delivery/: the solidarity booklet is printed for the person in their own
# language (Case.person_language). Its words are those marked inside a
# `with force_locale(...)` block of delivery/, or in a function of the same module such a
# block calls: see supporter_side_in_delivery().
PRINTED_FOR_THE_PERSON = "delivery/"
# ... and in cases/: what became of the person (cases/updates.py OUTCOMES), which the case
# page and the home page show.
SHOWN_ON_PUBLIC_PAGES = ("cases/updates.py",)


# -- The catalogs ---------------------------------------------------------------------------


def makefile_extract_command():
    """The arguments of the Makefile's `pybabel extract`, so that the test extracts exactly
    what `make translations` does (babel.cfg, the keywords, the folders it skips)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(ln for ln in makefile.splitlines() if "pybabel extract" in ln)
    return shlex.split(line.split("pybabel", 1)[1])


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """{msgid: [(path, line)]} of every string the code marks now, extracted with Babel
    into a scratch .pot file (the project commits none)."""
    args = makefile_extract_command()
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    args[args.index("-o") + 1] = str(pot)
    args[-1] = str(ROOT)  # the folder to search, "." in the Makefile
    args[args.index("-F") + 1] = str(ROOT / args[args.index("-F") + 1])
    CommandLineInterface().run(["pybabel", "--quiet", *args])
    with pot.open("rb") as f:
        template = read_po(f)
    return {
        message.id: [
            (str(Path(path).resolve().relative_to(ROOT)), line) for path, line in message.locations
        ]
        for message in template
        if message.id
    }


@cache
def supporter_side_in_delivery():
    """{path: [(first line, last line)]} of the code in delivery/ that prints in another
    language: each `with force_locale(...)` block, and each function of the same module
    such a block calls (solidarity_pdf() -> booklet()). What they mark the person reads."""
    spans = {}
    for path in sorted((ROOT / PRINTED_FOR_THE_PERSON).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {
            node.name: node
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        found = spans.setdefault(str(path.relative_to(ROOT)), [])
        for node in ast.walk(tree):
            if isinstance(node, ast.With) and any(
                "force_locale" in ast.unparse(item.context_expr) for item in node.items
            ):
                found.append((node.lineno, node.end_lineno))
                for call in ast.walk(node):
                    called = isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    if called and call.func.id in functions:
                        function = functions[call.func.id]
                        found.append((function.lineno, function.end_lineno))
    return spans


def read_by_supporters(path, line):
    if path.startswith(PRINTED_FOR_THE_PERSON) and any(
        first <= line <= last for first, last in supporter_side_in_delivery().get(path, [])
    ):
        return True
    return path in SHOWN_ON_PUBLIC_PAGES or not path.startswith(STAFF_SIDE)


def supporter_side(locations):
    """The places marking the string that supporters read (none: a staff-only string)."""
    return [(path, line) for path, line in locations if read_by_supporters(path, line)]


def read_catalog(code, folder=CATALOGS):
    with (folder / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


def where(locations):
    return " ".join(f"{path}:{line}" for path, line in locations[:3])


def untranslated(catalog, marked):
    """The marked supporter-side strings the catalog does not translate, one line each."""
    problems = []
    for msgid, locations in marked.items():
        locations = supporter_side(locations)
        if not locations:
            continue
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalog.get(key)
        if message is None:
            hidden = " (only as an obsolete #~ entry)" if key in catalog.obsolete else ""
            problems.append(f"missing{hidden}: {key!r} at {where(locations)}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {key!r} at {where(locations)}")
        else:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            forms = catalog.num_plurals if message.pluralizable else 1
            if len(strings) < forms or not all(strings[:forms]):
                problems.append(f"not translated: {key!r} at {where(locations)}")
    return problems


def test_the_extraction_is_the_makefiles(marked):
    """The test extracts with the Makefile's own arguments, and finds what it should: a
    public string, a staff one, a lazy one and a plural."""
    assert "Send my appeal" in marked
    assert supporter_side(marked["Send my appeal"])
    assert ("message sent", "messages sent") in marked
    assert "Dashboard" in marked and not supporter_side(marked["Dashboard"])
    # The booklet's cover is printed in the person's language; the appeals' PDF is not.
    assert supporter_side(marked["Messages of solidarity from Write for Rights supporters"])
    assert not any(
        path.startswith(("tests/", ".venv/", "node_modules/"))
        for locs in marked.values()
        for path, _ in locs
    )


@pytest.mark.parametrize("code", SHIPPED)
def test_every_shipped_catalog_translates_the_supporter_side(code, marked):
    """A supporter reading this language meets no English: every string the code marks on
    the supporter side is in the catalog, translated, and not fuzzy. When this fails after
    a change: `make translations`, then translate the strings listed."""
    problems = untranslated(read_catalog(code), marked)
    assert not problems, (
        f"translations/{code}/LC_MESSAGES/messages.po lacks {len(problems)} supporter-side "
        "translation(s) (run `make translations`, then translate them):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("code", SHIPPED)
def test_every_shipped_catalog_compiles_with_matching_placeholders(code, tmp_path):
    po = CATALOGS / code / "LC_MESSAGES" / "messages.po"
    assert po.exists(), (
        f"LANGUAGES names {code} but {po.relative_to(ROOT)} is missing: run `make translations`"
    )
    catalog = read_catalog(code)
    # Fuzzy entries too: `pybabel compile` refuses a catalog with any wrong placeholder.
    errors = [f"{message.id!r}: {error}" for message, errs in catalog.check() for error in errs]
    assert not errors, f"translations/{code}: " + "; ".join(errors)
    # What `make compile-translations` runs, on a copy (the .mo files are the build's).
    copy = tmp_path / code / "LC_MESSAGES"
    copy.mkdir(parents=True)
    shutil.copy(po, copy / "messages.po")
    assert CommandLineInterface().run(["pybabel", "--quiet", "compile", "-d", str(tmp_path)]) == 0
    assert (copy / "messages.mo").stat().st_size > 0
    # The header's plural rule has as many forms as the language has (Arabic: six).
    assert catalog.num_plurals == get_plural(Locale.parse(code)).num_plurals


def test_the_arabic_catalog_has_six_plural_forms():
    catalog = read_catalog("ar")
    assert catalog.num_plurals == 6
    plurals = [m for m in catalog if m.id and m.pluralizable and any(m.string)]
    assert plurals, "no translated plural in the Arabic catalog"
    for message in plurals:
        assert len(message.string) == 6 and all(message.string), message.id


def test_the_catalog_check_finds_what_is_missing():
    """The check itself: a catalog without a string, with a fuzzy one, with a plural short
    of forms, or hiding a needed string in an obsolete entry, fails, naming each."""
    po = b"""msgid ""
msgstr ""
"Language: ar\\n"
"Plural-Forms: nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=0 && n%100<=2 ? 4 : 5);\\n"

msgid "Send"
msgstr "\xd8\xa3\xd8\xb1\xd8\xb3\xd9\x84"

#, fuzzy
msgid "Hello"
msgstr "x"

msgid "one letter"
msgid_plural "%(num)d letters"
msgstr[0] "a"
msgstr[1] "b"
msgstr[2] ""
msgstr[3] "d"
msgstr[4] "e"
msgstr[5] "f"

#~ msgid "Thanks"
#~ msgstr "y"
"""
    catalog = read_po(io.BytesIO(po), locale="ar")
    marked = {
        "Send": [("templates/public/case.html", 3)],
        "Hello": [("templates/email/confirm.txt", 1)],
        ("one letter", "%(num)d letters"): [("web/templating.py", 9)],
        "Thanks": [("blueprints/public.py", 7)],
        "Missing": [("templates/admin/cases.html", 2), ("letters/forms.py", 4)],
        "Staff only": [("templates/admin/cases.html", 5), ("moderation/flags.py", 1)],
    }
    assert untranslated(catalog, marked) == [
        "fuzzy: 'Hello' at templates/email/confirm.txt:1",
        "not translated: 'one letter' at web/templating.py:9",
        "missing (only as an obsolete #~ entry): 'Thanks' at blueprints/public.py:7",
        "missing: 'Missing' at letters/forms.py:4",
    ]


# -- Python: messages people read ----------------------------------------------------------

# Exceptions whose message a page shows as it is (a form's error, a problem on a staff page).
SHOWN_ERRORS = {"ValidationError", "StopValidation", "PartnerError", "AccountError", "PhotoError"}
VALIDATORS = {
    "DataRequired",
    "InputRequired",
    "Optional",
    "Length",
    "Email",
    "EqualTo",
    "Regexp",
    "NumberRange",
    "AnyOf",
    "NoneOf",
    "URL",
    "FileAllowed",
    "FileRequired",
    "FileSize",
}
PYTHON_SKIPPED = {"tests", "bench", "tools", "migrations", "node_modules", "deploy"}


MARKING = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}


def is_text(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def unmarked_text(node):
    """True for an argument that is words written in the code: a string with letters, an
    f-string, or a string put together with + or % or .format()."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(WORD.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return unmarked_text(node.left) or unmarked_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and unmarked_text(node.func.value)
    return False


def messages_read_by_people(tree):
    """(line, what, argument) for each message argument of flash(), abort(), the errors
    pages show, WTForms fields' labels and descriptions, and validators' messages."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).rsplit(".", 1)[-1]
            keywords = {k.arg: k.value for k in node.keywords}
            if name == "flash":
                arguments = [*node.args[:1], keywords.get("message")]
            elif name in SHOWN_ERRORS:
                arguments = node.args[:1]
            elif name == "abort":
                arguments = [*node.args[1:2], keywords.get("description")]
            elif name.endswith("Field") and name[0].isupper():
                arguments = [*node.args[:1], keywords.get("label"), keywords.get("description")]
            elif name in VALIDATORS:
                arguments = [keywords.get("message")]
            elif name in MARKING and node.args and not is_text(node.args[0]):
                # _(f"...") or _("..." % x): no catalog can hold what this translates
                yield node.lineno, name, node.args[0]
                continue
            else:
                continue
            for argument in arguments:
                if argument is not None:
                    yield node.lineno, name, argument


def test_python_messages_people_read_are_marked():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in PYTHON_SKIPPED or relative.parts[0].startswith("."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [
            f"{relative}:{line} {name}({ast.unparse(argument)[:60]})"
            for line, name, argument in messages_read_by_people(tree)
            if unmarked_text(argument)
        ]
    assert not found, "not marked for translation:\n" + "\n".join(found)


def test_the_python_check_sees_unmarked_messages():
    code = """
flash("Saved.")
flash(_("Saved."))
raise ValidationError(f"{n} is too long")
raise PartnerError(_l("Give a name."))
abort(404, description="No such case")
abort(404)
name = StringField("Your name", validators=[DataRequired(message="Please tell us your name.")])
email = EmailField(_l("Email"), validators=[Length(max=200, message=_l("Too long."))])
flash("Sent to %s" % address)
title = _(f"Letters for {name}")
label = _(LABELS[kind])
"""
    found = [
        (line, name)
        for line, name, argument in messages_read_by_people(ast.parse(code))
        if unmarked_text(argument)
    ]
    assert sorted(found) == [
        (2, "flash"),
        (4, "ValidationError"),
        (6, "abort"),
        (8, "DataRequired"),
        (8, "StringField"),
        (10, "flash"),
        (11, "_"),
    ]


# -- The templates --------------------------------------------------------------------------

# Attributes whose value a person reads (or hears): they must come from {{ }} expressions.
READ_ATTRIBUTES = {
    "alt",
    "title",
    "placeholder",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
}
# Data attributes whose text scripts show or announce (data-msg-*), or a stylesheet shows
# (data-label, a table cell's heading on a phone).
READ_DATA_PREFIXES = ("data-msg-", "data-label")
# ... and these on some elements: a button's words, an option group's name.
READ_ON = {"input": {"value"}, "optgroup": {"label"}, "option": {"label"}, "track": {"label"}}
# Text nobody translates. Keep it short: a word here is a word no translator sees.
NOT_TRANSLATED = set()
# Stands for a {{ }} expression while the template's HTML is parsed: the Unicode private use
# area, so it is neither a letter nor anything a template writes.
EXPRESSION = "\ue000"
WORD = re.compile(r"[^\W\d_]+")


def template_paths():
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})


def template_text(source):
    """The template with each {{ }} replaced by EXPRESSION and each {% %} and {# #} dropped:
    what is left is what the template itself writes. Also dropped: what {% trans %} blocks
    hold (already marked), and markup that blocks and macros named *_class or *_attrs write
    (a class name, attributes). Returns (text, the template's line of each character)."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    parts, lines = [], []
    in_trans = False
    names = []  # the enclosing {% block %}s and {% macro %}s
    tag = []  # the tag's words so far, inside {% %}
    for lineno, token, value in env.lex(source):
        if token == "block_begin":
            tag = []
        elif token == "name" and tag is not None:
            tag.append(value)
            if tag[0] in {"trans", "pluralize", "endtrans"}:
                in_trans = tag[0] != "endtrans"
            elif tag[0] in {"block", "macro"} and len(tag) == 2:
                names.append(value)
            elif tag[0] in {"endblock", "endmacro"} and len(tag) == 1 and names:
                names.pop()
        elif token == "block_end":
            tag = None
        markup = any(n.endswith(("_class", "_attrs")) for n in names)
        if in_trans or markup:
            continue
        if token == "variable_begin":
            parts.append(EXPRESSION)
            lines.append(lineno)
        elif token == "data":
            parts.append(value)
            lines.extend(lineno + value[:i].count("\n") for i in range(len(value)))
    return "".join(parts), lines


# Words that are not text: keyboard keys (<kbd>), and paths in addresses ("/cases/").
NOT_TEXT_TAGS = {"script", "style", "kbd"}
PATH = re.compile(r"(?<![\w/])(?:/[\w-]+)+/?")


class UnmarkedText(HTMLParser):
    """Collects the words a template writes outside any {{ }} expression: in text, and in
    the attributes a person reads. Positions are offsets in the text fed."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.found = []  # (offset, words)
        self.skipping = 0  # inside NOT_TEXT_TAGS

    def position(self):
        line, column = self.getpos()
        return self.starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag in NOT_TEXT_TAGS:
            self.skipping += 1
        attributes = dict(attrs)
        names = READ_ATTRIBUTES | READ_ON.get(tag, set())
        if tag == "input" and attributes.get("type") not in {"submit", "button", "reset"}:
            names = READ_ATTRIBUTES
        read = [v for k, v in attrs if k in names or k.startswith(READ_DATA_PREFIXES)]
        if tag == "meta" and attributes.get("name") == "description":
            read.append(attributes.get("content"))
        for value in read:
            if words := words_in(value or ""):
                self.found.append((self.position(), words))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in NOT_TEXT_TAGS:
            self.skipping -= 1

    def handle_endtag(self, tag):
        if tag in NOT_TEXT_TAGS:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and (words := words_in(data)):
            self.found.append((self.position() + WORD.search(data).start(), words))


def words_in(text):
    return [w for w in WORD.findall(PATH.sub(" ", text)) if w not in NOT_TRANSLATED]


def unmarked_words(source):
    """[(line, [words])] of the template's human text that is not marked for translation."""
    text, lines = template_text(source)
    parser = UnmarkedText(text)
    parser.feed(text)
    parser.close()
    return [(lines[min(offset, len(lines) - 1)], words) for offset, words in parser.found]


@pytest.mark.parametrize("path", template_paths(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_write_no_unmarked_text(path):
    found = unmarked_words(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} has text not marked for translation: " + "; ".join(
        f"line {line}: {' '.join(words)}" for line, words in found
    )


def test_the_template_check_sees_unmarked_text():
    """The check itself: it finds text and attributes a template writes unmarked, and lets
    through marked ones, expressions, comments, scripts and numbers."""
    assert unmarked_words('<p>{{ _("Hello") }} <b>{{ name }}</b> 42 &mdash; 3.5</p>') == []
    assert unmarked_words("<p>\n{# note #}Send it</p>") == [(2, ["Send", "it"])]
    assert unmarked_words('<img src="x.png" alt="A portrait">') == [(1, ["A", "portrait"])]
    assert unmarked_words('<img alt="{{ case.photo_alt }}" title="{{ _("Photo") }}">') == []
    assert unmarked_words("<input placeholder=\"{{ _('Name') }} ok\">")[0][1] == ["ok"]
    assert unmarked_words('<meta name="description" content="Letters">') == [(1, ["Letters"])]
    assert unmarked_words('<meta name="robots" content="noindex">') == []
    assert unmarked_words('<td data-label="Who" data-id="x1">') == [(1, ["Who"])]
    assert unmarked_words("<html data-msg-server=\"{{ _('Sorry') }}\">") == []
    assert unmarked_words('<input type="submit" value="Go"><input type="hidden" value="y">') == [
        (1, ["Go"])
    ]
    assert unmarked_words("<script>const a = 'b';</script><style>p{color:red}</style>") == []
    assert unmarked_words('<kbd>j</kbd> {{ _("next") }} /cases/{{ c.slug }}') == []
    assert unmarked_words(
        "{% block body_class %}admin{% endblock %}{% block t %}Hi{% endblock %}"
    ) == [(1, ["Hi"])]
    assert unmarked_words("{% trans %}Marked {{ n }} words{% endtrans %}") == []
    assert unmarked_words("{% if x %}<span>one</span>{% endif %}") == [(1, ["one"])]
