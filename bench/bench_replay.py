"""The national replay as a benchmark: stage times, rows/s and tx/s, and how cost grows with the market.

    .venv/bin/python bench/bench_replay.py                      # 300 entities (what `make bench` runs)
    .venv/bin/python bench/bench_replay.py --sizes 2257 4514    # the scaling comparison (issue 10, point 4)
    .venv/bin/python bench/bench_replay.py --four-sectors --sizes 3378 6756 \
        --fleet ../shared/data/china_power_units.csv            # 2024-2025, four sectors (issue 16, point 7)

Each size runs ``manage.py replay_cycle`` on a fresh database of its own: with DATABASE_URL pointing
at PostgreSQL, a database ``<its name>_replay_<n>`` is (re)created on that server; otherwise a
temporary SQLite file. With two or more sizes it prints the time ratio of the last to the first
beside the entity ratio, from the same run. ``--four-sectors`` replays 2024-2025 over power, steel, cement
and aluminium (goal: 3,378 entities in under 10 minutes, twice the entities in under 2.2 times that).
The replay's own checks (ledger, audit, independent
recomputation) are reported too: a benchmark of a run that failed them is not a result.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def fresh_database(size: int, workdir: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parsed = urlparse(url)
        name = f"{parsed.path.strip('/') or 'cets'}_replay_{size}"  # beside the configured database, never another's
        admin = urlunparse(parsed._replace(path="/postgres"))
        import psycopg2

        conn = psycopg2.connect(admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name}")
        conn.close()
        return urlunparse(parsed._replace(path=f"/{name}"))
    return f"sqlite:///{workdir / f'replay_{size}.sqlite3'}"


def run(size: int, years: list[str], seed: int, fleet: str, workdir: Path, sectors: list[str]) -> dict:
    env = {**os.environ, "DATABASE_URL": fresh_database(size, workdir), "CELERY_TASK_ALWAYS_EAGER": "1"}
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0", "--skip-checks"], cwd=ROOT, env=env, check=True)
    out = ROOT / "bench" / "out" / f"replay_{size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    command = [PY, "manage.py", "replay_cycle", "--skip-checks", "--entities", str(size), "--years", *years,
               "--seed", str(seed), "--out", str(out)] + (["--fleet", fleet] if fleet else []) \
        + (["--sectors", *sectors] if sectors else [])
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if not out.exists():
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(f"replay of {size} entities produced no result (exit {proc.returncode})")
    result = json.loads(out.read_text())
    result["wall_seconds"] = wall
    result["exit"] = proc.returncode
    result["stderr_tail"] = proc.stderr.strip().splitlines()[-1:] if proc.returncode else []
    text = proc.stdout
    start = text.find("headline figures") if "headline figures" in text else text.find("figures (system")
    result["headline"] = text[start:text.find("check_ledger:")].rstrip()
    result["load_average"] = os.getloadavg()
    return result


def entities(result: dict) -> int:
    return result["fleet"]["entities"] if "fleet" in result else sum(result["counts"].values())


def show(result: dict) -> None:
    load = " / ".join(f"{x:.1f}" for x in result["load_average"])
    market = (f"{result['fleet']['units']} units, {result['fleet']['unit_months']} unit-months "
              f"({result['fleet']['source']})" if "fleet" in result else f"sectors {result['counts']}")
    print(f"\n{entities(result)} entities, {market}, database {result['database']}: total "
          f"{result['seconds']['total']:.1f} s (wall {result['wall_seconds']:.1f} s), exit {result['exit']} "
          f"{' '.join(result['stderr_tail'])}; load average at the end (1/5/15 min) {load}")
    print(f"  {'stage':<30} {'status':<14} {'seconds':>8} {'rows':>9} {'rows/s':>9} {'tx':>7} {'tx/s':>7}")
    for s in result["stages"]:
        print(f"  {s['name']:<30} {s['status']:<14} {s['seconds']:>8.2f} {s['rows']:>9} "
              f"{s['rows_per_s'] or '':>9} {s['transactions']:>7} {s['tx_per_s'] or '':>7}")
    print(f"  {result['headline']}")
    checks = result["checks"]
    print("  " + "  ".join(f"{name} ok={check['ok']}" for name, check in checks.items() if isinstance(check, dict))
          + (f"  disagreements={len(checks['disagreements'])}" if "disagreements" in checks else ""))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[300])
    parser.add_argument("--years", nargs="+", default=["2021", "2022"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fleet", default="", help="GEM unit list (SHARED_DIR/data/china_power_units.csv)")
    parser.add_argument("--four-sectors", action="store_true",
                        help="the 2024-2025 replay of power, steel, cement and aluminium (default sizes 3378 6756)")
    args = parser.parse_args()
    sectors = []
    if args.four_sectors:
        sectors = ["power", "steel", "cement", "aluminium"]
        args.years = ["2024", "2025"] if args.years == ["2021", "2022"] else args.years
        args.sizes = [3378, 6756] if args.sizes == [300] else args.sizes
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            results.append(run(size, args.years, args.seed, args.fleet, Path(tmp), sectors))
            show(results[-1])
    if len(results) > 1:
        first, last = results[0], results[-1]
        ratio = last["seconds"]["total"] / first["seconds"]["total"]
        print(f"\nscaling: {entities(last)} / {entities(first)} entities = "
              f"{entities(last) / entities(first):.2f}x; time {last['seconds']['total']:.1f} s / "
              f"{first['seconds']['total']:.1f} s = {ratio:.2f}x (goal < 2.2x)")
    return 0 if all(r["exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
