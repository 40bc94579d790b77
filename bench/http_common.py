"""What every part of bench/http_bench.py shares: paths, the error it reports, its log."""

import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the app's own modules (models) and deploy/ are imported too
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent  # the venv's bin: flask and gunicorn live next to python
CASE_SLUG = "gustavo-gatica"  # a case of the demo campaign (flask seed)
CASE_PATH = f"/cases/{CASE_SLUG}"
PG_DATABASE = "w4r_bench"  # never "test": that one belongs to the test suite


class CheckFailed(Exception):
    """The app answered, but not what a working site answers."""


def log(message):
    """Print one timestamped progress line at once (runs take minutes)."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)
