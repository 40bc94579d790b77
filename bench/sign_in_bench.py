"""Sign-in timing: how long a wrong password takes for each kind of address, so that
nobody can tell by timing which addresses belong to staff (issue 12).

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python bench/sign_in_bench.py             # SQLite, 51 rounds
    .venv/bin/python bench/sign_in_bench.py --db postgresql --rounds 101

It builds a fresh database with the real migrations, an active account, a disabled one and
an invited one that has no password yet, then posts a wrong password to the sign-in page
for each of them and for an address nobody has, taking turns so that load elsewhere slows
them alike, and prints the median, the 10th and the 90th percentile of each, in ms.
"""

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import bench_app, database_url, drop_database, migrate_and_seed  # noqa: E402 (bench/ is on the path)

ADDRESSES = {
    "staff account": "known@example.org",
    "disabled account": "disabled@example.org",
    "invited, no password yet": "invited@example.org",
    "no account": "nobody@example.org",
}


def add_accounts():
    from extensions import db
    from models import StaffUser

    known = StaffUser(email=ADDRESSES["staff account"], role="admin")
    known.set_password("a long and right password")
    disabled = StaffUser(email=ADDRESSES["disabled account"], role="moderator", active=False)
    disabled.set_password("another right password")
    invited = StaffUser(email=ADDRESSES["invited, no password yet"], password_hash="")
    db.session.add_all([known, disabled, invited])
    db.session.commit()


def timings(client, rounds):
    page = client.get("/admin/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    times = {label: [] for label in ADDRESSES}
    for _ in range(rounds):
        for label, email in ADDRESSES.items():
            data = {"csrf_token": token, "email": email, "password": "a wrong password"}
            start = time.perf_counter()
            response = client.post("/admin/sign-in", data=data)
            times[label].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 422, response.status_code
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=51)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = database_url(args.db, folder, "w4r_sign_in_bench")
        app = bench_app(url, folder)
        with app.app_context():
            migrate_and_seed(app)
            add_accounts()
        times = timings(app.test_client(), args.rounds)
        with app.app_context():
            from extensions import db

            db.engine.dispose()
        drop_database(args.db, "w4r_sign_in_bench")
    print(f"Wrong password, {args.rounds} rounds on {args.db} (ms):")
    print(f"  {'address':<26} {'median':>7} {'p10':>7} {'p90':>7}")
    for label, each in times.items():
        deciles = statistics.quantiles(each, n=10)
        print(f"  {label:<26} {statistics.median(each):7.1f} {deciles[0]:7.1f} {deciles[-1]:7.1f}")


if __name__ == "__main__":
    main()
