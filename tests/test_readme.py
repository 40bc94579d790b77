"""The README is the operators' contract: every setting the app reads from the environment
is in its settings table, and every command the app adds to `flask` in its commands table."""

import re
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
# A setting read from the environment: os.environ.get("NAME"...) or env_int/env_bool("NAME"...).
READ = re.compile(r'(?:os\.environ\.get|env_\w+)\(\s*"([A-Z][A-Z0-9_]+)"')


def section(title):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_every_setting_read_from_the_environment_is_in_the_settings_table():
    read = set()
    for name in ("config.py", "gunicorn.conf.py"):
        read |= set(READ.findall((ROOT / name).read_text(encoding="utf-8")))
    assert {"SECRET_KEY", "MAIL_CLAIM_SECONDS", "WEB_CONCURRENCY"} <= read  # the scan works
    table = section("Settings")
    assert sorted(name for name in read if f"`{name}`" not in table) == []


def command_lines(group, prefix):
    """`flask --app app ...` for each of the app's commands and group subcommands."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_lines(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}"


def test_every_command_of_the_app_is_in_the_commands_table(app):
    """Flask-Migrate's `db` group is its own (documented there): `db upgrade` is the one an
    operator needs, and the table has it."""
    commands = [
        command
        for command in command_lines(app.cli, "flask --app app")
        if not command.startswith("flask --app app db ")
    ]
    assert "flask --app app staff reset-2fa" in commands  # the walk reaches subcommands
    table = section("Operator commands")
    assert "`flask --app app db upgrade`" in table
    assert [command for command in commands if f"`{command}" not in table] == []
