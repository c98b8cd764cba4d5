"""Run every benchmark (bench/bench_*.py) and write docs/benchmarks.md with what each printed.

Each benchmark prints its own figures, and where it compares, both sides and the ratio from the
same run. This script adds the command, the machine and the date, so every figure in the
document can be reproduced.
"""

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks.md"
# Each is a script printing its figures (and both sides of any comparison from the same run).
BENCHMARKS = ["bench_engine", "bench_registry", "bench_mrv", "bench_allowances", "bench_sectors", "bench_trading",
              "bench_trading_http", "bench_voluntary", "bench_compliance", "bench_carryover", "bench_replay"]
MARKER = "<!-- make bench writes below this line -->"


def machine() -> str:
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        mem = f", {int(meminfo.read_text().split()[1]) // 1024 // 1024} GiB RAM"
    db = os.environ.get("DATABASE_URL", "sqlite (default)").split("@")[-1]
    return f"{platform.node()}: {os.cpu_count()} cores{mem}, Python {platform.python_version()}, database {db}"


def main(argv: list[str]) -> int:
    only = set(argv)
    unknown = only - set(BENCHMARKS)
    if unknown:
        print(f"usage: run_all.py [{' '.join(BENCHMARKS)}]; unknown: {' '.join(sorted(unknown))}")
        return 2
    scripts = [ROOT / "bench" / f"{name}.py" for name in BENCHMARKS if not only or name in only]
    sections, failed = [], 0
    for script in scripts:
        command = f"{sys.executable} {script.relative_to(ROOT)}"
        print(f"== {command}", flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - started
        print(proc.stdout[-4000:], proc.stderr[-2000:] if proc.returncode else "", flush=True)
        failed += proc.returncode != 0
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        sections.append(f"## {script.stem}\n\nCommand: `{command}` ({took:.1f} s, {status})\n\n```\n"
                        f"{proc.stdout.strip()}\n```\n")
    header = (f"## Latest `make bench` run\n\nProduced by `make bench` (bench/run_all.py) on {dt.date.today()}.\n"
              f"Machine: {machine()}.\n\n")
    OUT.parent.mkdir(exist_ok=True)
    # The summary above the marker is written by people; the run below it is replaced each time.
    summary = OUT.read_text().split(MARKER)[0] if OUT.exists() else "# Benchmarks\n\n"
    OUT.write_text(summary + MARKER + "\n\n" + header + "\n".join(sections))
    print(f"wrote {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
