"""Fill in deploy/nginx.conf's four placeholders and print the result.

    python3 deploy/render_nginx_conf.py UPSTREAM=127.0.0.1:8000 LISTEN=80 \\
        STATIC_ROOT=/srv/write-for-rights/static CACHE_DIR=/var/cache/write-for-rights \\
        > /etc/nginx/nginx.conf

A value not given as NAME=value is read from the environment variable of that name.
Only ${UPSTREAM}, ${LISTEN}, ${STATIC_ROOT} and ${CACHE_DIR} are replaced, so nginx's own
$variables stay as they are (envsubst does the same when given the names:
envsubst '${UPSTREAM} ${LISTEN} ${STATIC_ROOT} ${CACHE_DIR}' < deploy/nginx.conf).
Standard library only: it runs with any python3, outside the app's virtualenv.
"""

import os
import re
import sys
from pathlib import Path

NAMES = ("UPSTREAM", "LISTEN", "STATIC_ROOT", "CACHE_DIR")
TEMPLATE = Path(__file__).with_name("nginx.conf")


def render(values, template=None):
    """The conf with each ${NAME} replaced by values[NAME]; ValueError if one is missing."""
    missing = [name for name in NAMES if not values.get(name)]
    if missing:
        raise ValueError("no value for " + ", ".join(missing))
    text = TEMPLATE.read_text() if template is None else template
    pattern = r"\$\{(" + "|".join(NAMES) + r")\}"
    return re.sub(pattern, lambda match: str(values[match.group(1)]), text)


def main(arguments):
    values = {name: os.environ.get(name) for name in NAMES}
    for argument in arguments:
        name, _, value = argument.partition("=")
        if name not in NAMES:
            sys.exit(f"unknown setting {argument!r}: give {', '.join(NAMES)} as NAME=value")
        values[name] = value
    try:
        sys.stdout.write(render(values))
    except ValueError as problem:
        sys.exit(f"{problem} (NAME=value or the environment)")


if __name__ == "__main__":
    main(sys.argv[1:])
