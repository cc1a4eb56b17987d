#!/usr/bin/env python3
"""factory-obs report next to DuckDB answering the stage and model tables of the same file.

Run by cli/scripts/bench-duckdb.sh (which builds, generates the input and installs DuckDB):

    bench_duckdb.py OBS SQL INPUT [ROUNDS]

With OBS_BEFORE set to another factory-obs binary (an older build), its `report --json` runs in
each round too, as "before" (same sitting, same file).

Each round runs, one after the other on the same file: `factory-obs report --json` with its
default threads and with `--threads 1`, then DuckDB (the SQL of duckdb-stage-model.sql) with its
default threads and with `SET threads = 1`. Each is a child process measured by GNU time: wall
time, peak RSS (its own `ru_maxrss`), CPU (user + system over wall). DuckDB's query time is also
taken inside its process (without Python's start and `import duckdb`). Then the numbers of both
are compared: counts, failures, retries and token sums exactly, cost to the micro-dollar,
percentiles within the sketch's 1 % (and the report's rounding to the microsecond).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_measured(args):
    """Runs a child under GNU time; returns (stdout, wall seconds, peak RSS MiB, CPU %).

    GNU time forks the child from its own small process and reads the child's rusage with
    wait4: a child spawned from this Python process directly would start with Python's peak in
    its ru_maxrss (Linux keeps the larger across execve), some 12 MiB here.
    """
    with tempfile.NamedTemporaryFile("r") as usage:
        start = time.monotonic()
        child = subprocess.run(["/usr/bin/time", "-o", usage.name, "-f", "%M %U %S", *args],
                               stdout=subprocess.PIPE)
        wall = time.monotonic() - start
        if child.returncode != 0:
            sys.exit(f"{args[0]} exited with {child.returncode}")
        rss_kib, user, system = usage.read().split()[-3:]
    cpu = (float(user) + float(system)) / wall * 100
    return child.stdout, wall, int(rss_kib) / 1024, cpu


def duckdb_child(sql_path, input_path, threads):
    """In the child: runs the SQL, prints the two tables and the query's own time as JSON."""
    import duckdb

    con = duckdb.connect()
    if threads != "default":
        con.execute(f"SET threads = {int(threads)}")
    sql = open(sql_path).read().replace("{input}", input_path)
    statements = [s for s in sql.split(";\n") if s.strip()]
    start = time.monotonic()
    for statement in statements[:-2]:
        con.execute(statement)
    stages = con.execute(statements[-2]).fetchall()
    models = con.execute(statements[-1]).fetchall()
    seconds = time.monotonic() - start
    threads_used = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(json.dumps({"stages": stages, "models": models, "seconds": seconds,
                      "threads": threads_used}))


def close(ours_ms, theirs_nanos):
    """A percentile of the report (ms, 3 decimals) within 1 % of DuckDB's exact one."""
    theirs_ms = theirs_nanos / 1e6
    return abs(ours_ms - theirs_ms) <= 0.01 * theirs_ms + 0.001


def agree(report, duck):
    """The differences between the report's stage and model tables and DuckDB's, as text."""
    problems = []
    stages = {s["stage"]: s for s in report["stages"]}
    if len(stages) != len(duck["stages"]):
        problems.append(f"stages: {sorted(stages)} vs {[d[0] for d in duck['stages']]}")
    for name, count, p50, p95, p99, top, failures, retries in duck["stages"]:
        ours = stages.get(name)
        if ours is None:
            problems.append(f"stage {name}: not in the report")
            continue
        for field, theirs in [("count", count), ("failures", failures), ("retries", retries)]:
            if ours[field] != theirs:
                problems.append(f"stage {name} {field}: {ours[field]} vs {theirs}")
        if abs(ours["max_ms"] - top / 1e6) > 0.001:
            problems.append(f"stage {name} max: {ours['max_ms']} vs {top / 1e6}")
        for field, theirs in [("p50_ms", p50), ("p95_ms", p95), ("p99_ms", p99)]:
            if not close(ours[field], theirs):
                problems.append(f"stage {name} {field}: {ours[field]} vs {theirs / 1e6}")
    models = {(m["provider"], m["model"]): m for m in report["models"]}
    if len(models) != len(duck["models"]):
        problems.append(f"models: {sorted(models)} vs {[d[:2] for d in duck['models']]}")
    for provider, model, calls, tokens_in, tokens_out, cost, p50, p95, p99 in duck["models"]:
        ours = models.get((provider, model))
        if ours is None:
            problems.append(f"model {provider}/{model}: not in the report")
            continue
        for field, theirs in [("calls", calls), ("input_tokens", tokens_in),
                              ("output_tokens", tokens_out)]:
            if ours[field] != theirs:
                problems.append(f"model {model} {field}: {ours[field]} vs {theirs}")
        if round(ours["cost_usd"], 6) != round(cost, 6):
            problems.append(f"model {model} cost: {ours['cost_usd']} vs {cost}")
        for field, theirs in [("p50_ms", p50), ("p95_ms", p95), ("p99_ms", p99)]:
            if not close(ours[field], theirs):
                problems.append(f"model {model} {field}: {ours[field]} vs {theirs / 1e6}")
    return problems


def summary(values, unit, digits):
    """Median and range."""
    median = statistics.median(values)
    return f"{median:.{digits}f} {unit} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main():
    if sys.argv[1] == "--duckdb-child":
        duckdb_child(*sys.argv[2:5])
        return
    obs, sql, input_path = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    contenders = {
        "factory-obs report (default threads)": [obs, "report", "--json", input_path],
        "factory-obs report --threads 1": [obs, "report", "--json", "--threads", "1", input_path],
        "DuckDB stage+model (default threads)":
            [sys.executable, __file__, "--duckdb-child", sql, input_path, "default"],
        "DuckDB stage+model (threads=1)":
            [sys.executable, __file__, "--duckdb-child", sql, input_path, "1"],
    }
    if os.environ.get("OBS_BEFORE"):
        contenders = {"factory-obs report (before)": [os.environ["OBS_BEFORE"], "report", "--json",
                                                      input_path], **contenders}
    results = {name: {"wall": [], "rss": [], "cpu": [], "query": []} for name in contenders}
    disagreements = []
    for round_number in range(rounds):
        report = None
        for name, args in contenders.items():
            out, wall, rss, cpu = run_measured(args)
            result = results[name]
            result["wall"].append(wall)
            result["rss"].append(rss)
            result["cpu"].append(cpu)
            data = json.loads(out)
            if name.startswith("factory-obs"):
                report = data
            else:
                result["query"].append(data["seconds"])
                result["threads"] = data["threads"]
                disagreements += [f"round {round_number + 1}, {name}: {p}"
                                  for p in agree(report, data)]
        print(f"round {round_number + 1} of {rounds} done", file=sys.stderr)
    size = os.path.getsize(input_path)
    with open("/proc/loadavg") as load:
        print(f"input: {input_path}, {size} bytes; {rounds} rounds, alternating; "
              f"load average now: {load.read().split()[0:3]}")
    print(f"{'':50} {'wall (median, range)':28} {'query only':24} {'peak RSS':28} CPU")
    for name, result in results.items():
        query = summary(result["query"], "s", 2) if result["query"] else "-"
        label = name + (f" [{result['threads']} threads]" if "threads" in result else "")
        print(f"{label:50} {summary(result['wall'], 's', 2):28} {query:24} "
              f"{summary(result['rss'], 'MiB', 1):28} {statistics.median(result['cpu']):.0f} %")
    if disagreements:
        print("DISAGREEMENTS:")
        for line in disagreements:
            print("  " + line)
        sys.exit(1)
    print("agreement: stage and model counts, failures, retries, token sums and cost equal; "
          "percentiles within 1 %, every round")


if __name__ == "__main__":
    main()
