"""Moderation by group benchmark: decisions needed to clear a queue of 100,000 solidarity
messages, and the queue pages' time with 1,000,000 letters stored.

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python bench/moderation_groups.py                   # SQLite
    .venv/bin/python bench/moderation_groups.py --db postgresql   # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/moderation_groups.py --messages 20000 --stored 200000  # quicker

It builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL
database w4r_groups_bench, dropped and created again) with the real migrations and the
demo campaign (its suggested solidarity texts, kept as TextGroup rows by the seed), then:

1. Generates --messages confirmed solidarity messages to the four demo cases (half to
   one, a quarter, an eighth, an eighth): 70% exact copies of a suggested text (some in
   capitals or with other punctuation: the same fingerprint), 15% near-copies (a name
   added, a greeting, a line changed, a word changed, a line left out) and 15% messages
   of one's own. Each goes through the real flags.fingerprint and similar.group_key_for
   (timed per letter). Then it counts the decisions a moderator needs to clear them, as
   the Groups view offers them: one per group of a text (its exact copies and a page of
   MAX_SELECTED near-copies at once), one more per further page of near-copies, one per
   message of its own. Goal: under 20,000. It also says how many near-copies missed
   their group and how many messages of one's own joined one.
2. Stores --stored letters in all: the queue's messages waiting, newest, after older
   decided ones (copies of the same texts, 3% rejected), one INSERT ... SELECT each.
3. Times the queue pages through the app (Flask's test client, signed-in moderators in
   turn, --requests each after warm-up): /admin/queue, the Groups view and a group's
   page when the app has them, and the group functions themselves with nothing cached
   (moderation.groups.waiting's count, pending_groups). p50/p99/max ms. Goal: p99 < 100 ms.
   The plans of the groups queries are printed (EXPLAIN).
The report goes to bench/results/ as well (not committed).
"""

import argparse
import gc
import math
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from queue_bench import MODERATORS, PASSWORD, TOTP_SECRET, percentiles, sign_in, timed  # noqa: E402
from scratch import bench_app, database_url, drop_database, log, migrate_and_seed  # noqa: E402

PG_DATABASE = "w4r_groups_bench"
GOAL_DECISIONS = 20_000
TARGET_P99_MS = 100
SHARES = (0.70, 0.15, 0.15)  # exact, near, own
CASE_WEIGHTS = (4, 2, 1, 1)  # of the four demo cases, in their order

NAMES = ["Ana", "Luis", "Sarah", "Mehmet", "Fatima", "Jean-Pierre", "Olga", "Kwame", "Priya"]
PLACES = ["Lima", "Leeds", "Lyon", "Izmir", "Rabat", "Valparaíso", "Oslo", "Accra", "Quito"]
LINES = [
    "My whole class signed this today.",
    "We talked about you at our school event.",
    "I light a candle for you every Sunday.",
    "Mi familia entera piensa en ti.",
    "Toute ma famille pense à toi.",
    "Our local group will write again next year.",
]
OPENINGS = [
    "Hello {name},",
    "To {name}:",
    "{name},",
    "Hi {name}, it's {me} here.",
    "Dear friend {name},",
    "Querida {name},",
]
MIDDLES = [
    "I read about your story in {place} and could not sleep that night.",
    "My daughter asked me who you are, and I told her you are brave.",
    "In our town of {place} we made a banner with your name on it.",
    "I am {age} and I have never written to a stranger before.",
    "The rain here in {place} made me think of how cold your cell must be.",
    "We sang a song for you at the market on Saturday, {n} of us.",
    "Our choir in {place} dedicated the concert to you.",
    "I teach history and my students now know your name.",
    "Nobody should be punished for what you did, and we know it.",
    "Mi abuela dice que la esperanza es lo último que se pierde.",
    "Je suis étudiante à {place} et ton histoire m'a bouleversée.",
    "I hope the guards let you read this one.",
]
CLOSINGS = [
    "Hugs from {me}.",
    "With love, {me} ({place})",
    "Un abrazo fuerte, {me}",
    "Bises, {me} de {place}",
    "Your friend {me}",
    "Peace, {me}, age {age}",
]


def suggested_texts(app):
    """[(case_id, language, text)] of the four demo cases' suggested solidarity texts,
    with their TextGroup rows (made here when the seed has not: moderation/suggested.py)."""
    import sqlalchemy as sa

    from extensions import db
    from models import Case, TextGroup
    from moderation.flags import fingerprint

    texts = []
    with app.app_context():
        cases = db.session.scalars(sa.select(Case).order_by(Case.sort_order).limit(4)).all()
        for case in cases:
            for language, messages in (case.solidarity_suggestions or {}).items():
                texts += [(case.id, language, text) for text in messages]
                for text in messages:
                    if db.session.get(TextGroup, fingerprint(text)) is None:
                        db.session.add(
                            TextGroup(
                                key=fingerprint(text), text=text, case_id=case.id, suggested=True
                            )
                        )
        db.session.commit()
        ids = [case.id for case in cases]
    assert texts, "the demo cases have no suggested solidarity texts (cases/demo.py)"
    return ids, texts


def exact_copy(rng, text):
    """The text as people send it unchanged: now and then in capitals or without its
    punctuation, which the fingerprint leaves aside."""
    roll = rng.random()
    if roll < 0.1:
        return text.upper()
    if roll < 0.2:
        return re.sub(r"[,.:!]", "", text)
    return text


def near_copy(rng, text):
    """The suggested text with a name added, a greeting, a line changed or left out."""
    me, place = rng.choice(NAMES), rng.choice(PLACES)
    sentences = re.split(r"(?<=[.!?:])\s+", text)
    kind = rng.randrange(5)
    if kind == 0:
        return "name added", f"{text}\n{me}, {place}"
    if kind == 1:
        return "greeting and name", f"Hi! {text} Love, {me}"
    if kind == 2 and len(sentences) > 1:
        sentences[rng.randrange(len(sentences))] = rng.choice(LINES)
        return f"a line of {len(sentences)} changed", " ".join(sentences)
    if kind == 3:
        words = text.split()
        words[rng.randrange(len(words))] = rng.choice(["truly", "really", "always", "siempre"])
        return "a word changed, name", " ".join(words) + f" — {me}"
    if len(sentences) > 2:
        del sentences[rng.randrange(len(sentences))]
        return f"a line of {len(sentences) + 1} left out, name", " ".join(sentences) + f" {me}"
    return "a line added", f"{text} {rng.choice(LINES)}"


def own_message(rng, name):
    """A message of one's own: a greeting, two or three lines and a signature."""
    values = {
        "name": name,
        "me": rng.choice(NAMES),
        "place": rng.choice(PLACES),
        "age": rng.randrange(9, 90),
        "n": rng.randrange(3, 300),
    }
    lines = rng.sample(MIDDLES, rng.randrange(2, 4))
    parts = [rng.choice(OPENINGS), *lines, rng.choice(CLOSINGS)]
    return " ".join(part.format(**values) for part in parts)


def generate(app, case_ids, texts, count, seed=15):
    """[(case_id, language, body, made_as, suggested_key)] of `count` messages."""
    from extensions import db
    from models import Case
    from moderation.flags import fingerprint

    rng = random.Random(seed)
    with app.app_context():
        first_names = {
            case_id: db.session.get(Case, case_id).name.split()[0] for case_id in case_ids
        }
    by_case = {case_id: [t for t in texts if t[0] == case_id] for case_id in case_ids}
    exact_n, near_n = int(count * SHARES[0]), int(count * SHARES[1])
    made, seen = [], set()
    for n in range(count):
        case_id = rng.choices(case_ids, weights=CASE_WEIGHTS[: len(case_ids)])[0]
        _case, language, text = rng.choice(by_case[case_id])
        if n < exact_n:
            made.append((case_id, language, exact_copy(rng, text), "exact", fingerprint(text)))
        elif n < exact_n + near_n:
            how, body = near_copy(rng, text)
            made.append((case_id, language, body, f"near: {how}", fingerprint(text)))
        else:
            while (body := own_message(rng, first_names[case_id])) in seen:
                pass
            seen.add(body)
            made.append((case_id, "en", body, "own", None))
    rng.shuffle(made)
    return made


def group_keys(app, made):
    """Each message's fingerprint and group key through the real functions, and the
    time group_key_for took per letter (µs): wall-clock, which other work on the machine
    inflates, and this process's CPU time."""
    from moderation.flags import fingerprint
    from moderation.similar import group_key_for

    keyed, took, cpu = [], [], []
    prints = [fingerprint(body) for _case, _language, body, _made, _suggested in made]
    gc.freeze()  # the lists made here are not the request's garbage
    with app.app_context():
        for (case_id, language, body, made_as, suggested), print_ in zip(made, prints, strict=True):
            start, used = time.perf_counter(), time.process_time()
            key = group_key_for(case_id, "solidarity", body, print_)
            cpu.append((time.process_time() - used) * 1e6)
            took.append((time.perf_counter() - start) * 1e6)
            keyed.append((case_id, language, body, made_as, suggested, print_, key))
    gc.unfreeze()
    return keyed, took, cpu


def decisions(keyed, per_page):
    """The decisions the Groups view needs: one per group of a text (exact copies and
    a page of near-copies), one per further page of near-copies; a message alone in its
    group is one decision too."""
    size, exact = Counter(), Counter()
    for _case, _language, _body, _made, _suggested, print_, key in keyed:
        size[key] += 1
        exact[key] += print_ == key
    split = Counter()
    for key, n in size.items():
        near = n - exact[key]
        if n == 1:
            split["letters alone in their group"] += 1
        else:
            split["groups (exact copies + first page of near-copies)"] += 1
            split["further pages of near-copies"] += max(0, math.ceil(near / per_page) - 1)
    return sum(split.values()), split, len(size)


def accuracy(keyed):
    """How the generated messages were grouped: near-copies that missed their
    suggested text, messages of one's own that joined one, exact copies elsewhere."""
    found, missed, made_n = Counter(), Counter(), Counter()
    for _case, _language, _body, made_as, suggested, _print, key in keyed:
        if made_as == "own":
            found["own joined a suggested text"] += key != _print
        elif made_as.startswith("near"):
            found["near-copies in their text's group"] += key == suggested
            found["near-copies in another suggested text's group"] += key not in (suggested, _print)
            found["near-copies alone"] += key == _print
            missed[made_as] += key != suggested
            made_n[made_as] += 1
        else:
            found["exact copies in their text's group"] += key == suggested
    for how in sorted(made_n):
        found[f"  {how}: missed"] = f"{missed[how]:,} of {made_n[how]:,}"
    return found


def store(app, keyed, total):
    """The queue's messages waiting, after total - len(keyed) older decided letters
    (copies of the same messages), with one INSERT ... SELECT each from a scratch table
    (a CROSS JOIN: SQLite then runs through the numbers and looks each text up by key)."""
    import sqlalchemy as sa

    from extensions import db

    staged = sa.table(
        "bench_texts",
        *(
            sa.column(name)
            for name in ("i", "case_id", "language", "body", "fingerprint", "group_key")
        ),
    )
    with app.app_context():
        db.session.execute(
            sa.text(
                "CREATE TABLE bench_texts (i INTEGER PRIMARY KEY, case_id INTEGER, language "
                "VARCHAR(10), body TEXT, fingerprint VARCHAR(16), group_key VARCHAR(16))"
            )
        )
        rows = [
            {
                "i": i,
                "case_id": c,
                "language": lang,
                "body": body,
                "fingerprint": fp,
                "group_key": key,
            }
            for i, (c, lang, body, _m, _s, fp, key) in enumerate(keyed)
        ]
        db.session.execute(sa.insert(staged), rows)
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            numbers = (
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            )
        else:
            numbers = "WITH n(i) AS (SELECT generate_series(1, :count)) "
        insert = """
            INSERT INTO letters (case_id, kind, body, name, email, email_key, country, city,
                language, consent_privacy, consent_contact, status, moderation, counted,
                created_at, confirmed_at, flags, flagged, fingerprint, group_key,
                reject_reason, moderated_at)
            SELECT t.case_id, 'solidarity', t.body, 'Supporter ' || n.i,
                :prefix || n.i || '@example.org', :prefix || n.i || '@example.org', 'GB', '',
                t.language, :yes, :no, 'confirmed', {moderation}, :yes, :at, :at, '', :no,
                t.fingerprint, t.group_key, {reason}, {moderated_at}
            FROM n CROSS JOIN bench_texts t WHERE t.i = {index}
        """
        old = total - len(keyed)
        decided = insert.format(
            moderation="CASE WHEN n.i % 100 < 3 THEN 'rejected' ELSE 'approved' END",
            reason="CASE WHEN n.i % 100 < 3 THEN 'Spam or advertising' ELSE '' END",
            moderated_at=":at",
            index="n.i % :texts",
        )
        waiting = insert.format(
            moderation="'pending'", reason="''", moderated_at="NULL", index="n.i - 1"
        )
        at = datetime(2025, 11, 20, 9, 30)
        common = {"yes": True, "no": False, "texts": len(keyed)}
        if old > 0:
            db.session.execute(
                sa.text(numbers + decided), {**common, "count": old, "prefix": "d", "at": at}
            )
        db.session.execute(
            sa.text(numbers + waiting),
            {**common, "count": len(keyed), "prefix": "p", "at": at + timedelta(days=3)},
        )
        db.session.execute(sa.text("DROP TABLE bench_texts"))
        db.session.commit()
        if dialect == "sqlite":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
            db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("VACUUM ANALYZE letters"))
        counts = dict(
            db.session.execute(
                sa.text("SELECT moderation, count(*) FROM letters GROUP BY moderation")
            ).all()
        )
        db.session.remove()
        db.engine.dispose()
    return counts


def add_moderators(app):
    from extensions import db
    from models import StaffUser, utcnow
    from staff import two_factor

    with app.app_context():
        for n in range(MODERATORS):
            user = StaffUser(email=f"mod{n}@example.org", role="moderator")
            user.set_password(PASSWORD)
            user.totp_secret = two_factor.encrypted(TOTP_SECRET)
            user.totp_confirmed_at = utcnow()
            db.session.add(user)
        db.session.commit()


def line(label, samples):
    """p50, p99 and max wall-clock, and p50 and p99 of this process's CPU time (with
    SQLite all the work; a machine busy with other work does not inflate it)."""
    p50, p99, top = percentiles([wall for wall, _cpu in samples])
    cpu50, cpu99, _top = percentiles([cpu for _wall, cpu in samples])
    return f"{label:<44} {p50:>8.1f} {p99:>8.1f} {top:>8.1f} {cpu50:>8.1f} {cpu99:>8.1f}"


def page_timings(app, requests, keyed):
    """(lines, worst p99) of the queue pages and the group functions."""
    clients = [sign_in(app, f"mod{n}@example.org") for n in range(MODERATORS)]
    gc.freeze()
    biggest = Counter(key for *_rest, key in keyed).most_common(1)[0][0]
    paths = [
        ("GET /admin/queue (20 moderators in turn)", "/admin/queue"),
        ("GET /admin/queue/groups", "/admin/queue/groups"),
        ("GET /admin/queue/groups?page=1", "/admin/queue/groups?page=1"),
        ("GET a group's page (largest group)", f"/admin/queue/groups/{biggest}"),
    ]
    lines, worst = [], 0.0
    for label, path in paths:
        if clients[0].get(path).status_code == 404:
            lines.append(f"{label:<44} (not in the app yet: 404)")
            continue
        for n in range(3):
            timed(clients[n], path)
        samples = [timed(clients[n % MODERATORS], path)[:2] for n in range(requests)]
        lines.append(line(label, samples))
        worst = max(worst, percentiles([wall for wall, _cpu in samples])[1])
    for label, call in group_functions(app):
        with app.app_context():
            call()
            samples = []
            for _n in range(requests):
                start, used = time.perf_counter(), time.process_time()
                call()
                samples.append(
                    ((time.perf_counter() - start) * 1000, (time.process_time() - used) * 1000)
                )
            from extensions import db

            db.session.remove()
        lines.append(line(label, samples))
        worst = max(worst, percentiles([wall for wall, _cpu in samples])[1])
    return lines, worst


def group_functions(app):
    """The groups queries as the pages run them, without the app's cache."""
    from moderation import groups

    found = []
    if hasattr(groups, "waiting"):
        found.append(("waiting() count, not cached", lambda: uncached(groups)))
    if hasattr(groups, "count_groups"):  # what the Groups view's cache keeps
        found.append(("count_groups() first page, not cached", lambda: count_groups(groups)))
    if hasattr(groups, "pending_groups"):
        found.append(("pending_groups() first page", lambda: groups.pending_groups()))
    return found


def count_groups(groups):
    return groups.count_groups(None, "", "", 0)


def uncached(groups):
    from web import caching

    caching.forget(groups.WAITING_KEY)
    return groups.waiting()


def explain(app):
    """The plans of the Groups view's queries (the count and the first page)."""
    import sqlalchemy as sa

    from extensions import db
    from models import Letter
    from moderation import groups

    statements = [
        sa.select(sa.func.count(), sa.func.count(sa.distinct(Letter.group_key))).where(
            Letter.status == "confirmed", Letter.moderation == "pending"
        )
    ]
    if hasattr(groups, "figures"):
        size = sa.func.count()
        statements.append(
            sa.select(Letter.group_key, *groups.figures())
            .where(*groups.pending(), Letter.group_key != "")
            .group_by(Letter.group_key)
            .having(size >= 2)
            .order_by(size.desc(), sa.func.min(Letter.id))
            .limit(51)
        )
    lines = []
    with app.app_context():
        for statement in statements:
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            if db.engine.dialect.name == "sqlite":
                plan = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
                lines += [f"  {row[-1]}" for row in plan]
            else:
                plan = db.session.execute(sa.text(f"EXPLAIN ANALYZE {compiled}")).all()
                lines += [f"  {row[0]}" for row in plan]
            lines.append("")
        db.session.remove()
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--messages", type=int, default=100_000, help="the queue to clear")
    parser.add_argument("--stored", type=int, default=1_000_000, help="letters stored in all")
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="w4r-groups-bench-")
    try:
        url = database_url(args.db, folder, PG_DATABASE)
        app = bench_app(url, folder)
        with app.app_context():
            migrate_and_seed(app)
        add_moderators(app)
        case_ids, texts = suggested_texts(app)
        log(f"== {args.db}: {len(texts)} suggested texts; generating {args.messages:,} messages")
        made = generate(app, case_ids, texts, args.messages)
        keyed, took, cpu = group_keys(app, made)
        total, split, groups_count = decisions(keyed, per_page())
        found = accuracy(keyed)
        p50, p99, top = percentiles(took)
        cpu50, cpu99, cpu_top = percentiles(cpu)
        near = [each for each, row in zip(cpu, keyed, strict=True) if row[3] != "exact"]
        lines = [
            f"Moderation by group benchmark, {args.db}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Queue of {args.messages:,} confirmed solidarity messages (70% exact suggested "
            f"texts of the 4 demo cases, {len(texts)} texts; 15% near-copies; 15% own):",
            f"  decisions to clear it: {total:,} (goal under {GOAL_DECISIONS:,}: "
            f"{'ok' if total < GOAL_DECISIONS else 'OVER'}), {groups_count:,} groups",
            *(f"    {label}: {n:,}" for label, n in split.items()),
            *(
                f"  {label}: {n:,}" if isinstance(n, int) else f"  {label} {n}"
                for label, n in found.items()
            ),
            f"  group_key_for per letter, wall-clock: p50 {p50:.0f} µs, p99 {p99:.0f} µs, "
            f"max {top:.0f} µs; CPU: mean {statistics.fmean(cpu):.0f} µs, p50 {cpu50:.0f} µs, "
            f"p99 {cpu99:.0f} µs, max {cpu_top:.0f} µs; CPU p50 of those not exact copies "
            f"{statistics.median(near):.0f} µs",
        ]
        log("\n".join(lines))
        log(f"== storing {args.stored:,} letters")
        started = time.perf_counter()
        counts = store(app, keyed, args.stored)
        lines.append("")
        lines.append(
            f"{sum(counts.values()):,} letters stored in {time.perf_counter() - started:.0f} s: {counts}"
        )
        app = bench_app(url, folder)  # a fresh pool, as a server process starts
        lines += [
            f"{args.requests} requests each, ms (wall-clock; CPU of this process):",
            f"{'page or query':<44} {'p50':>8} {'p99':>8} {'max':>8} {'CPU p50':>8} {'CPU p99':>8}",
        ]
        timings, worst = page_timings(app, args.requests, keyed)
        lines += timings
        lines.append(
            f"Worst p99: {worst:.1f} ms (target {TARGET_P99_MS} ms): "
            f"{'ok' if worst < TARGET_P99_MS else 'OVER'}"
        )
        lines += ["", "Plans of the groups queries (count waiting; first page of groups):"]
        lines += explain(app)
        report = "\n".join(lines)
        print(report)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"groups-{args.db}-{stamp}.txt").write_text(report + "\n")
        with app.app_context():
            from extensions import db

            db.engine.dispose()
        return 0 if total < GOAL_DECISIONS and worst < TARGET_P99_MS else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        drop_database(args.db, PG_DATABASE)


def per_page():
    """Near-copies one group decision takes: the group page lists MAX_SELECTED."""
    from blueprints.admin.queue import MAX_SELECTED

    return MAX_SELECTED


if __name__ == "__main__":
    sys.exit(main())
