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


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) // 1024 // 1024} GiB RAM"
    except OSError:
        pass
    db = os.environ.get("DATABASE_URL", "sqlite (default)").split("@")[-1]
    return f"{platform.node()}: {os.cpu_count()} cores{mem}, Python {platform.python_version()}, database {db}"


def main(argv: list[str]) -> int:
    only = set(argv)
    scripts = sorted(p for p in (ROOT / "bench").glob("bench_*.py") if not only or p.stem in only)
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
    header = (f"# Benchmarks\n\nProduced by `make bench` (bench/run_all.py) on {dt.date.today()}.\n"
              f"Machine: {machine()}.\n\n")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(header + "\n".join(sections))
    print(f"wrote {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
