"""The summary of bench/http_bench.py: medians over the rounds, the target ratios, and
the text and JSON files written to bench/results/."""

import json
import statistics

from http_common import CASE_PATH, CASE_SLUG, RESULTS
from http_wrk import NOISY_PCT, cache_shares

TARGETS = [  # (name, numerator, denominator, minimum), from issue 11
    ("b/a", "case_page", "bare", 0.5),
    ("c/a", "submit", "bare", 0.1),
    ("d/b", "case_page_1m", "case_page", 0.9),
    ("e/f", "case_page_nginx", "static_nginx", 0.5),
]
LABELS = {
    "bare": "(a) bare Flask GET /",
    "case_page": f"(b) GET {CASE_PATH}",
    "submit": "(c) POST .../letters/appeal",
    "case_page_1m": f"(d) GET {CASE_PATH}, loaded",
    "case_page_nginx": f"(e) GET {CASE_PATH}, nginx",
    "static_nginx": "(f) nginx, static file as big",
}


def summarize(runs):
    """One measurement over its rounds: medians, the range of requests/s, every round."""

    def median(field):
        return round(statistics.median(run[field] for run in runs), 2)

    rates = [run["requests_per_s"] for run in runs]
    summary = {
        "requests_per_s": median("requests_per_s"),
        "requests_per_s_min": min(rates),
        "requests_per_s_max": max(rates),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "server_cpu_ms_per_request": median("server_cpu_ms_per_request"),
        "other_load_pct_max": max(run["other_load_pct"] for run in runs),
        "problems": [
            f"round {n}: {problem}" for n, run in enumerate(runs, 1) for problem in run["problems"]
        ],
        "rounds": runs,
    }
    cache = {}
    for run in runs:
        for value, count in run.get("cache", {}).items():
            cache[value] = cache.get(value, 0) + count
    if cache:
        summary["cache"] = cache
    if "letters_stored" in runs[0]:
        summary["letters_stored"] = sum(run["letters_stored"] for run in runs)
    return summary


def ratios(results):
    """(name, ratio of the medians, minimum, PASS or FAIL) for each target."""
    rows = []
    for name, top, bottom, minimum in TARGETS:
        if top in results and bottom in results:
            value = results[top]["requests_per_s"] / results[bottom]["requests_per_s"]
            rows.append((name, round(value, 3), minimum, "PASS" if value >= minimum else "FAIL"))
    return rows


def summary_text(report):
    """The summary as printed and written to bench/results/*.txt."""
    lines = [
        f"HTTP benchmark {report['started']}  (wrk -t{report['wrk_threads']} "
        f"-c{report['wrk_connections']} -d{report['duration_s']}s --latency, "
        f"gunicorn -c gunicorn.conf.py, nginx -c deploy/nginx.conf, {report['cpus']} CPUs, "
        f"{report['rounds']} rounds: medians, req/s range min-max)",
        "",
        f"{'database':<11} {'measurement':<38} {'req/s':>8} {'range':>15} {'p50 ms':>7}"
        f" {'p99 ms':>7} {'CPU ms/req':>10} {'other %':>7}  checks",
    ]
    for db_name, results in report["databases"].items():
        lines += database_lines(db_name, results)
    lines += [
        "",
        "req/s, p50, p99 and CPU ms/req: medians over the rounds, each round on a newly "
        "started gunicorn (and nginx); range: the lowest and highest req/s of the rounds.",
        "CPU ms/req: CPU time of the servers (gunicorn, nginx, PostgreSQL) per request. "
        "other %: the machine's CPU taken by processes outside the benchmark meanwhile "
        "(worst round).",
    ]
    if any(
        r["other_load_pct_max"] > NOISY_PCT
        for results in report["databases"].values()
        for key, r in results.items()
        if key in LABELS
    ):
        lines.append(
            f"WARNING: other processes took more than {NOISY_PCT} % of the CPU during some "
            "measurements: their requests/s are lower than on a quiet machine."
        )
    lines += ["", f"{'database':<11} {'target (medians)':<16} {'ratio':>7}  result"]
    for db_name, results in report["databases"].items():
        for name, value, minimum, verdict in results.get("ratios", []):
            lines.append(
                f"{db_name:<11} {name + ' >= ' + str(minimum):<16} {value:>7.3f}  {verdict}"
            )
    return "\n".join(lines)


def database_lines(db_name, results):
    """The table rows of one database: a measurement a line, then what was loaded."""
    if "error" in results:
        return [f"{db_name:<11} ERROR: {results['error']}"]
    lines = []
    for key, label in LABELS.items():
        if key in results:
            r = results[key]
            spread = f"{r['requests_per_s_min']:.0f}-{r['requests_per_s_max']:.0f}"
            lines.append(
                f"{db_name:<11} {label:<38} {r['requests_per_s']:>8.1f} {spread:>15}"
                f" {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f}"
                f" {r['server_cpu_ms_per_request']:>10.2f} {r['other_load_pct_max']:>7.1f}"
                f"  {'; '.join(r['problems']) or 'ok'}"
            )
    if "page_bytes" in results:
        lines.append(
            f"{'':<11} (e), (f): the case page is {results['page_bytes']:,} bytes "
            "(uncompressed, as wrk asks); (f) serves a file as big from /static/"
        )
    if "cache" in results.get("case_page_nginx", {}):
        shares = cache_shares(results["case_page_nginx"]["cache"])
        lines.append(f"{'':<11} (e): nginx's X-Cache-Status over all rounds: {shares}")
    if "load" in results:
        load = results["load"]
        lines.append(
            f"{'':<11} (d) after loading {load['loaded']:,} letters in {load['seconds']} s: "
            f"{load['letters']:,} in the table, {load['counted']:,} counted, "
            f"{load['case_count']:,} shown for {CASE_SLUG}"
        )
    return lines


def write_report(report, text):
    """Write the summary and every round's numbers to bench/results/; return the stem."""
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"http_bench-{report['started'].replace(':', '').replace('-', '')}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".txt").write_text(text + "\n")
    return stem
