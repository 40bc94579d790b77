"""The test database between tests: emptied after each, back to a fresh installation (the
rows the migrations insert stay). Here rather than in conftest.py so that a module-scoped
fixture (tests/browser/test_languages.py) can empty it too: `import conftest` in
tests/browser finds that folder's conftest.py."""

import sqlalchemy as sa

from extensions import db
from models import RejectReason

# Rows the migrations themselves insert (the reject-reason catalogue): every test starts
# with them, as a fresh installation does.
SEEDED_BY_MIGRATIONS = {RejectReason.__table__: []}


def empty_tables():
    """Remove every row, children first, so each test starts from a fresh installation."""
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(table.name for table in db.metadata.sorted_tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    for table, rows in SEEDED_BY_MIGRATIONS.items():
        if rows:
            # Without their ids: the sequences start again, as after the migration.
            db.session.execute(
                table.insert(), [{k: v for k, v in row.items() if k != "id"} for row in rows]
            )
    db.session.commit()
