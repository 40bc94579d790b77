"""wrk runs for bench/http_bench.py: the command, reading its output, checking the
statuses, and the CPU that the servers (and everything else) used meanwhile."""

import os
import re
import resource
import subprocess

from http_common import BENCH, PG_DATABASE, CheckFailed, log

NOISY_PCT = 10  # more CPU than this taken by other processes makes a measurement unreliable
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def run_wrk(args, url, script, duration, lua_args=()):
    """wrk -t -c -d --latency with a script of bench/, as parsed by parse_wrk."""
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH / script),
        url,
    ]
    if lua_args:
        command += ["--", *lua_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise CheckFailed(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def parse_wrk(output):
    """requests/s, p50 and p99 in ms, request count, the statuses and cache statuses the
    script counted ("STATUS <code> <count>", "CACHE <value> <count>") and wrk's errors."""

    def number(pattern, default=None):
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            if default is None:
                raise CheckFailed(f"cannot read /{pattern}/ in wrk's output:\n{output}")
            return default
        return match.groups()

    def latency_ms(value, unit):
        return round(float(value) * UNITS_MS[unit], 2)

    rps = float(number(r"^Requests/sec:\s+([\d.]+)")[0])
    p50 = latency_ms(*number(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)"))
    p99 = latency_ms(*number(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)"))
    requests = int(number(r"^\s+(\d+) requests in")[0])
    non_ok = int(number(r"Non-2xx or 3xx responses: (\d+)", ("0",))[0])
    socket_errors = sum(
        int(n)
        for n in number(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
            ("0", "0", "0", "0"),
        )
    )
    statuses, cache = {}, {}
    for status, count in re.findall(r"^STATUS (\d+) (\d+)$", output, re.MULTILINE):
        statuses[int(status)] = statuses.get(int(status), 0) + int(count)
    for value, count in re.findall(r"^CACHE (\S+) (\d+)$", output, re.MULTILINE):
        cache[value] = cache.get(value, 0) + int(count)
    return {
        "requests_per_s": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "requests": requests,
        "statuses": statuses,
        "cache": cache,  # X-Cache-Status values (nginx), if the answers had that header
        "non_2xx_3xx": non_ok,
        "socket_errors": socket_errors,
    }


def check_statuses(result, expected):
    """Every answer wrk saw must have the expected status; otherwise say so loudly."""
    wrong = {s: n for s, n in result["statuses"].items() if s != expected}
    problems = []
    if wrong:
        problems.append(f"unexpected statuses {wrong} (expected only {expected})")
    if result["non_2xx_3xx"]:
        problems.append(f"{result['non_2xx_3xx']} non-2xx/3xx answers")
    if result["socket_errors"]:
        problems.append(f"{result['socket_errors']} socket errors")
    if result["statuses"].get(expected, 0) == 0:
        problems.append(f"no {expected} answer at all")
    return problems


class CpuMeter:
    """CPU used during a measurement: by the servers (each one's process group, and the
    PostgreSQL backends of the benchmark database), by wrk, and by anything else.

    The machine is small and may be shared: "other" says how much of it something
    outside the benchmark took, which makes requests/s lower than they should be. The
    servers' CPU per request is the steadier number then.
    """

    def __init__(self, *servers):
        self.groups = {server.pgid: server.name for server in servers}

    def start(self):
        self.before = self.snapshot()

    def stop(self, requests):
        after = self.snapshot()
        used = {key: after[key] - self.before[key] for key in after}
        parts = {name: used[name] for name in [*self.groups.values(), "postgres"]}
        server = sum(parts.values())
        other = used["busy"] - server - used["wrk"]
        per_request = max(requests, 1) / 1000
        return {
            "server_cpu_ms_per_request": round(server / per_request, 3),
            "cpu_ms_per_request_by_part": {
                name: round(seconds / per_request, 3) for name, seconds in parts.items()
            },
            "other_load_pct": round(max(other, 0) / used["total"] * 100, 1),
        }

    def snapshot(self):
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as stat:
            fields = [int(n) for n in stat.readline().split()[1:]]
        total = sum(fields) / ticks
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
        used = dict.fromkeys([*self.groups.values(), "postgres"], 0.0)
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields_after_name = stat.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    command = cmdline.read().decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            # utime, stime, and the same for reaped children (recycled workers)
            seconds = sum(int(n) for n in fields_after_name[11:15]) / ticks
            group = int(fields_after_name[2])
            if group in self.groups:
                used[self.groups[group]] += seconds
            elif command.startswith("postgres:") and f" {PG_DATABASE} " in command:
                used["postgres"] += seconds
        return {
            **used,
            "total": total,
            "busy": total - (fields[3] + fields[4]) / ticks,  # minus idle and iowait
            "wrk": children.ru_utime + children.ru_stime,
        }


def quietest(args, tag, measure_once):
    """Run measure_once(attempt); when other processes took more than NOISY_PCT % of the
    CPU meanwhile, run it again (at most --retries more times) and keep the quietest run.
    The problems found in every run are kept."""
    runs = []
    for attempt in range(1 + args.retries):
        runs.append(measure_once(attempt))
        log_result(tag, runs[-1])
        if runs[-1]["other_load_pct"] <= NOISY_PCT:
            break
        if attempt < args.retries:
            log("  (other processes were busy: measuring again)")
    best = min(runs, key=lambda run: run["other_load_pct"])
    best["problems"] = [problem for run in runs for problem in run["problems"]]
    best["attempts"] = len(runs)
    return best


def measure_get(args, servers, url, tag, expected=200):
    """GET url with wrk (after a warm-up), every answer `expected`; `servers` are the
    ones whose CPU counts as the server's."""
    run_wrk(args, url, "wrk_get.lua", args.warmup)

    def once(_attempt):
        meter = CpuMeter(*servers)
        meter.start()
        result = run_wrk(args, url, "wrk_get.lua", args.duration)
        result.update(meter.stop(result["requests"]))
        result["problems"] = check_statuses(result, expected)
        return result

    return quietest(args, tag, once)


def log_result(tag, result):
    """One progress line for one run of a measurement."""
    stored = f", {result['letters_stored']} letters stored" if "letters_stored" in result else ""
    if result.get("cache"):
        stored += f", nginx cache: {cache_shares(result['cache'])}"
    parts = ", ".join(
        f"{name} {ms}" for name, ms in result["cpu_ms_per_request_by_part"].items() if ms
    )
    log(
        f"  {tag}: {result['requests_per_s']:.1f} req/s, p99 {result['p99_ms']} ms, "
        f"server {result['server_cpu_ms_per_request']} CPU ms/request ({parts}), "
        f"other load {result['other_load_pct']} %{stored}"
    )


def cache_shares(counts):
    """ "HIT 99.8 %, MISS 0.2 %": the X-Cache-Status values seen, most frequent first."""
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{value} {count / total * 100:.1f} %" for value, count in ranked)
