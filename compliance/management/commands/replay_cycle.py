"""Replay a whole compliance cycle at national scale through the real services (issue 10).

    python manage.py replay_cycle --entities 2257 --years 2021 2022 --seed 1 \
        [--fleet ../shared/data/china_power_units.csv] [--out bench/out/replay.json]
    python manage.py replay_cycle --years 2024 2025 --sectors power steel cement aluminium --seed 1 \
        [--entities 3378] [--fleet ...]      (the four sectors, issue 16: ``compliance.replay.four_sectors``)

Run it on a fresh database (it refuses one that already holds key entities: the true-up waits for
every covered entity's verification). Exits non-zero when a stage failed, when ``check_ledger``,
``verify_audit`` or ``check_consistency`` finds anything, or when a figure the system computed
disagrees with the independent recomputation.
"""

import json
import time
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from compliance.replay import figures, four_sectors, industry, stages
from compliance.replay import fleet as fleet_module


class Command(BaseCommand):
    help = "Replay a compliance cycle (2,257 entities by default) through the real services; print and check."

    def add_arguments(self, parser):
        parser.add_argument("--entities", type=int, default=None,
                            help="2,257 for 2021-2022 (power), 3,378 for 2024-2025 (four sectors)")
        parser.add_argument("--sectors", nargs="+", default=["power"], choices=four_sectors.SECTORS)
        parser.add_argument("--years", type=int, nargs="+", default=[2021, 2022])
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--fleet", type=str, default="",
                            help="GEM unit list (e.g. SHARED_DIR/data/china_power_units.csv); synthetic without")
        parser.add_argument("--out", type=str, default="bench/out/replay.json")

    def handle(self, *args, **opts):
        started = time.perf_counter()
        years = sorted(opts["years"])
        four = set(years) <= set(four_sectors.YEARS)
        if years != list(range(years[0], years[-1] + 1)) or not (set(years) <= {2021, 2022} or four):
            raise CommandError("--years: the replay covers the 2021-2022 cycle (consecutive years 2021 and/or 2022) "
                               "or the 2024-2025 compliance years (2024, or 2024 and 2025)")
        if four and (years[0] != 2024 or set(opts["sectors"]) != set(four_sectors.SECTORS)):
            raise CommandError("--sectors: the 2024-2025 replay starts in 2024 and covers power steel cement "
                               "aluminium (the four sectors settle from the same vintages)")
        if not four and opts["sectors"] != ["power"]:
            raise CommandError("--sectors: 2021-2022 covers power only")
        opts["entities"] = opts["entities"] or (industry.PUBLISHED_TOTAL if four else fleet_module.NATIONAL_ENTITIES)
        if opts["entities"] < (8 if four else 2):
            raise CommandError("--entities: at least 2 (a market needs a buyer and a seller), 8 for four sectors")
        path = Path(opts["fleet"]) if opts["fleet"] else None
        if path and not path.exists():
            raise CommandError(f"--fleet: {path} does not exist (expected under {settings.SHARED_DIR / 'data'})")
        if four:
            return self._four_sectors(opts, years, path, started)
        t0 = time.perf_counter()
        fleet = fleet_module.build(opts["entities"], opts["seed"], path, years=tuple(years))
        generate_s = time.perf_counter() - t0
        self.stdout.write(f"generated {len(fleet.entities)} entities, {len(fleet.units)} units, "
                          f"{len(fleet.months)} unit-months from {fleet.source} in {generate_s:.1f} s")
        ctx = stages.Context(fleet=fleet, years=years)
        self.stdout.write("stages:")
        results = stages.run_stages(ctx, stages.plan(years), log=self.stdout.write)

        t0 = time.perf_counter()
        system = figures.system_figures(ctx, years)
        independent = figures.recompute(fleet, years, ctx.state, ctx.entity_ids)
        disagreements = figures.compare(system, independent)
        ledger_ok, ledger_text = self._check("check_ledger")
        audit_ok, audit_text = self._check("verify_audit", "--skip-consistency")  # run once, just below
        consistency_ok, consistency_text = self._check("check_consistency")
        check_s = time.perf_counter() - t0
        total_s = time.perf_counter() - started

        self.stdout.write("\nheadline figures (system | report):")
        for label, value, report in figures.headline_table(system, years, len(fleet.entities)):
            self.stdout.write(f"  {label:<42} {value:<28} {report}")
        self.stdout.write(f"\ncheck_ledger: {ledger_text}\nverify_audit: {audit_text}")
        self.stdout.write(f"check_consistency: {consistency_text}")
        self.stdout.write("independent recomputation: " + ("agrees" if not disagreements else "DISAGREES"))
        for line in disagreements:
            self.stdout.write(f"  {line}")
        self.stdout.write(f"\ntimes: generate {generate_s:.1f} s, stages "
                          f"{sum(r.seconds for r in results):.1f} s, checks {check_s:.1f} s, total {total_s:.1f} s")

        failed = [r for r in results if r.status == "failed"]
        out = {"command": {k: (str(v) if isinstance(v, Path) else v) for k, v in opts.items()
                           if k in ("entities", "years", "seed", "fleet")},
               "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
               "fleet": {"source": fleet.source, "entities": len(fleet.entities), "units": len(fleet.units),
                         "unit_months": len(fleet.months), "calibration": fleet.calibration},
               "stages": [r.as_dict() for r in results], "figures": system, "recomputed": independent,
               "report": {k: ({str(y): v for y, v in val.items()} if isinstance(val, dict) else val)
                          for k, val in figures.REPORT.items()},
               "checks": {"check_ledger": {"ok": ledger_ok, "output": ledger_text},
                          "verify_audit": {"ok": audit_ok, "output": audit_text},
                          "check_consistency": {"ok": consistency_ok, "output": consistency_text},
                          "disagreements": disagreements},
               "seconds": {"generate": round(generate_s, 2), "checks": round(check_s, 2), "total": round(total_s, 2)}}
        self._write(opts["out"], out)
        problems = [f"stage {r.name} failed: {r.reason}" for r in failed]
        problems += [] if ledger_ok else ["check_ledger found problems"]
        problems += [] if audit_ok else ["verify_audit found problems"]
        problems += [] if consistency_ok else ["check_consistency found problems"]
        problems += [f"{len(disagreements)} figure(s) disagree with the recomputation"] if disagreements else []
        if problems:
            raise CommandError("; ".join(problems))

    def _four_sectors(self, opts, years, path, started) -> None:
        """The 2024-2025 replay of the four sectors: generate, run the stages, print beside the published."""
        t0 = time.perf_counter()
        counts = industry.counts_for(opts["entities"])
        fleet = fleet_module.build(counts["power"], opts["seed"], path, years=tuple(years))
        provinces = sorted(set(fleet.entities["province"]))
        industrial = industry.build(counts, opts["seed"], provinces, first_key=int(fleet.entities["entity"].max()) + 1,
                                    years=tuple(years))
        generate_s = time.perf_counter() - t0
        self.stdout.write(f"generated {len(fleet.entities)} power entities ({len(fleet.units)} units, {fleet.source}) "
                          f"and {len(industrial.entities)} industrial entities ({len(industrial.units)} facilities, "
                          f"{counts}) in {generate_s:.1f} s")
        ctx = stages.Context(fleet=fleet, years=years, state={"industry_fleet": industrial})
        self.stdout.write("stages:")
        results = stages.run_stages(ctx, four_sectors.plan(years), log=self.stdout.write)
        t0 = time.perf_counter()
        system = four_sectors.figures(ctx, years)
        checks = {name: self._check(name, *args) for name, args in (
            ("check_ledger", ()), ("verify_audit", ("--skip-consistency",)), ("check_consistency", ()))}
        check_s = time.perf_counter() - t0
        total_s = time.perf_counter() - started
        self.stdout.write("\nfigures (system | published):")
        for label, value, published in four_sectors.headline(system, years):
            self.stdout.write(f"  {label:<42} {value:<28} {published}")
        for name, (_ok, text) in checks.items():
            self.stdout.write(f"{name}: {text}")
        self.stdout.write(f"\ntimes: generate {generate_s:.1f} s, stages {sum(r.seconds for r in results):.1f} s, "
                          f"checks {check_s:.1f} s, total {total_s:.1f} s")
        out = {"command": {k: (str(v) if isinstance(v, Path) else v) for k, v in opts.items()
                           if k in ("entities", "years", "seed", "fleet", "sectors")},
               "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
               "counts": counts, "stages": [r.as_dict() for r in results], "figures": system,
               "published": four_sectors.PUBLISHED,
               "checks": {name: {"ok": ok, "output": text} for name, (ok, text) in checks.items()},
               "seconds": {"generate": round(generate_s, 2), "checks": round(check_s, 2), "total": round(total_s, 2)}}
        self._write(opts["out"], out)
        problems = [f"stage {r.name} failed: {r.reason}" for r in results if r.status == "failed"]
        problems += [f"{name} found problems" for name, (ok, _text) in checks.items() if not ok]
        if problems:
            raise CommandError("; ".join(problems))

    def _write(self, path: str, out: dict) -> None:
        out_path = Path(path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(out, indent=1, default=str))
        self.stdout.write(f"wrote {out_path}")

    @staticmethod
    def _check(name: str, *args: str) -> tuple[bool, str]:
        """Run a checking command; a missing command is reported, not counted as passing."""
        out, err = StringIO(), StringIO()
        try:
            call_command(name, *args, stdout=out, stderr=err)
        except (CommandError, SystemExit) as exc:  # check_ledger and check_consistency exit 1 with a report
            return False, f"{exc} {err.getvalue().strip()[:2000]}"
        except Exception as exc:  # an unknown command (its app has not landed) is not a pass
            return False, f"not available: {type(exc).__name__}: {exc}"
        return True, out.getvalue().strip()[:2000]

