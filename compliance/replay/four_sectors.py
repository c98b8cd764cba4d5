"""The replay of the 2024 and 2025 compliance years of the four sectors (issue 16 point 6).

Power comes from the 2021-2022 replay's generator (``fleet``, calibrated for 2024-2025 in its tables) and
goes through its stages (master data, 2023 baseline verification, monthly MRV, annual reports,
verification, allocation runs); steel, cement and aluminium come from ``industry`` and go through the
same services by the facility path: monthly key parameters loaded in bulk (``submissions_bulk_load``),
annual reports, agencies' verification of each facility, provinces' confirmation. Then the allowances
runs over every sector (2024: power's pre-allocation, everyone's true-up, industry allocated its verified
emissions; 2025: pre-allocation, balance values of the intensity sectors published, true-up), the
obligations of each annual cycle, surrender with stragglers (eligible vintages: a year's own and, for
2024, earlier ones; 2025 only CEA25) and the closing of both cycles.

Industrial entities are kept apart from power's in ``ctx.state["industry"]`` (key -> pk) so power's stages
(which read the power fleet's frames) run unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import transaction

from entities.models import AgencyAssignment, City, KeyEntity, Province, Unit, User

from . import industry as industry_module
from . import stages
from .stages import Context, StageResult, need, replay_report

YEARS = [2024, 2025]
SECTORS = ("power", "steel", "cement", "aluminium")
SURRENDER_DAY = {2024: dt.date(2025, 12, 15), 2025: dt.date(2026, 12, 15)}
# 99.99% of 2024's obligations surrendered on time (S6 [A]); the replay assumes the same for 2025 [C].
COMPLIANCE = {2024: 0.9999, 2025: 0.9999}


def industry_ids(ctx: Context) -> list[int]:
    return list(ctx.state.get("industry", {}).values())


def all_ids(ctx: Context) -> list[int]:
    return list(ctx.entity_ids.values()) + industry_ids(ctx)


# ---- master data of the industrial sectors (the generator's tables) ----------------------------------

def industry_master_data(ctx: Context, res: StageResult) -> None:
    """Entities (sector, inclusion 2024), facilities with their attributes, users and agency assignments."""
    fleet: industry_module.IndustryFleet = ctx.state["industry_fleet"]
    seed = fleet.seed
    provinces = {p.name_en: p.code for p in Province.objects.all()}
    capitals = {c.province_id: c.code for c in City.objects.all().order_by("code") if c.code.endswith("0100")}
    entities = []
    for row in fleet.entities.itertuples():
        code = provinces[row.province]
        entities.append(KeyEntity(name=f"{row.name} [replay {seed}]", name_en=row.name, sector_id=row.sector,
                                  credit_code=stages._credit(seed, int(row.entity), capitals[code]),
                                  province_id=code, city_id=capitals[code], inclusion_year=2024))
    password = make_password(None)
    with transaction.atomic():
        KeyEntity.objects.bulk_create(entities, batch_size=2000)
        by_code = dict(KeyEntity.objects.filter(credit_code__in=[e.credit_code for e in entities])
                       .values_list("credit_code", "pk"))
        ids = {int(row.entity): by_code[e.credit_code] for row, e in zip(fleet.entities.itertuples(), entities,
                                                                          strict=True)}
        units = [Unit(entity_id=ids[int(u.entity)], sector_id=u.sector, code=u.code, name=u.code,
                      attributes=u.attributes, rated_power_mw=None, main_fuel="", coal_type="", cooling="",
                      commissioning_date=dt.date(2010, 6, 30)) for u in fleet.units.itertuples()]
        Unit.objects.bulk_create(units, batch_size=2000)
        users = [User(username=f"rp{seed}-entity-{pk}", role=User.Role.ENTITY, entity_id=pk, password=password)
                 for pk in ids.values()]
        User.objects.bulk_create(users, batch_size=2000)
        province_of = dict(KeyEntity.objects.filter(pk__in=ids.values()).values_list("pk", "province_id"))
        assignments = [AgencyAssignment(year=year, entity_id=pk, agency_id=ctx.state["agency_ids"][province_of[pk]],
                                        assigned_by=ctx.users[("province", province_of[pk])])
                       for year in ctx.years for pk in ids.values()]
        AgencyAssignment.objects.bulk_create(assignments, batch_size=5000)
    ctx.state["industry"] = ids
    ctx.state["industry_units"] = dict(Unit.objects.filter(entity_id__in=ids.values()).values_list("code", "pk"))
    stages._load_users(ctx)
    res.rows = len(entities) + len(units) + len(users) + len(assignments)
    res.transactions = 1
    res.details = {"entities": dict(fleet.entities["sector"].value_counts().sort_index()),
                   "facilities": dict(fleet.units["sector"].value_counts().sort_index())}


# ---- monthly data, annual reports, verification of the facilities ---------------------------------------

def industry_monthly(ctx: Context, res: StageResult, year: int) -> None:
    """Each month's facility rows in one bulk load, on time (within 40 days: the 2024 months back-filled
    by 2025-10-31 as the 2025 work notice allowed, loaded on that day)."""
    from mrv.selectors import month_deadline

    load, = need("mrv.services:submissions_bulk_load")
    fleet: industry_module.IndustryFleet = ctx.state["industry_fleet"]
    units = ctx.state["industry_units"]
    months = fleet.months[fleet.months["year"] == year]
    total = Decimal(0)
    for month, part in months.groupby("month"):
        day = dt.date(2025, 10, 30) if year == 2024 else month_deadline(year, int(month)) - dt.timedelta(days=2)
        rows = [{"unit_id": units[r.unit], "year": year, "month": int(month),
                 "inputs": industry_module.month_inputs(r.sector, r.output, r.r)} for r in part.itertuples()]
        out = load(actor=ctx.users["national"], rows=rows, today=day, submitted_at=stages.local_dt(day),
                   run_rules=False)
        total += Decimal(str(out["emissions_tco2"]))
        res.rows += out["created"]
        res.transactions += 1
    res.details.update({"year": year, "facility_months": len(months), "emissions_tco2": str(total)})


def industry_reports_and_verification(ctx: Context, res: StageResult, year: int) -> None:
    """Entities compile and submit their report; the agency verifies each facility at the reported figures
    (output, and steel's ironmaking-and-sintering intensity basis); the province confirms."""
    compile_, submit, verify, confirm = need(
        "mrv.services:annual_report_compile", "mrv.services:annual_report_submit",
        "mrv.verifications:verification_submit", "mrv.verifications:verification_confirm")
    total = Decimal(0)
    for entity in KeyEntity.objects.filter(pk__in=industry_ids(ctx)).order_by("pk"):
        user = ctx.entity_users[entity.pk]
        report = submit(actor=user, report=compile_(actor=user, entity=entity, year=year))
        values = [{"unit": u["unit"], "emissions_tco2": u["emissions"], "output_t": u["output_t"],
                   **({"intensity_emissions_tco2": u["intensity_emissions_tco2"],
                       "intensity_output_t": u["intensity_output_t"]} if u.get("sector") == "steel" else {})}
                  for u in report.units]
        verification = verify(actor=ctx.agency_users[entity.province_id], entity=entity, year=year,
                              unit_values=values, **replay_report(entity, year))
        confirm(actor=ctx.users[("province", entity.province_id)], verification=verification,
                today=dt.date(year + 1, 7, 20))
        total += verification.verified_emissions_tco2
        res.rows += 2 + len(values)
        res.transactions += 4
    res.details.update({"year": year, "verified_tco2": str(total)})


# ---- allocation -------------------------------------------------------------------------------------------

def balance_values(ctx: Context, res: StageResult, year: int) -> None:
    """The national regulator publishes each intensity sector's balance value on the confirmed data."""
    publish, = need("allowances.balance_values:balance_value_publish")
    from allowances.models import AllocationPlan

    for plan in AllocationPlan.objects.filter(status=AllocationPlan.Status.PUBLISHED, first_year__lte=year,
                                              last_year__gte=year).exclude(sector_id="power").order_by("code"):
        value = publish(actor=ctx.users["national"], plan=plan, year=year)
        res.details[plan.sector_id] = str(value.value)
        res.rows += 1
        res.transactions += 1


def allocation_by_sector(ctx: Context, res: StageResult, year: int, kind: str) -> None:
    """``stages.allocation_run`` over every sector, with what each sector received."""
    from allowances.models import EntityAllocation

    stages.allocation_run(ctx, res, year, kind)
    per_sector = defaultdict(int)
    for sector, tonnes in EntityAllocation.objects.filter(run_id=ctx.state[f"run_{year}_{kind}"]).values_list(
            "entity__sector_id", "allocation_tco2"):
        per_sector[sector] += int(tonnes)
    res.details["by_sector"] = dict(sorted(per_sector.items()))


# ---- obligations, surrender, closing ---------------------------------------------------------------------

def obligations(ctx: Context, res: StageResult, year: int) -> None:
    (calculate,) = need("compliance.services:obligations_calculate")
    from compliance.selectors import cycle_get

    out = calculate(actor=ctx.users["national"], cycle=cycle_get(str(year)), year=year, entity_ids=all_ids(ctx))
    res.rows = out["created"] + out["updated"]
    res.transactions = 1
    res.details.update(out)


def surrender(ctx: Context, res: StageResult, year: int) -> None:
    """Everyone surrenders its whole obligation by the deadline from its eligible holdings, except a few
    stragglers (drawn in a seeded order until what they leave uncovered is ``1 - COMPLIANCE``), who
    cover U(0.75, 0.97) on time; half of them complete after the deadline, before the closing."""
    (surrender_bulk,) = need("compliance.surrender_bulk:surrender_bulk")
    from compliance.models import Obligation
    from registry.vintages import eligible_vintages

    vintages = [v for v in eligible_vintages(year) if v <= year]
    obligations_ = list(Obligation.objects.filter(entity_id__in=all_ids(ctx), year=year).order_by("entity_id"))
    holdings = stages._holdings([o.entity_id for o in obligations_], vintages)
    rng = np.random.default_rng(ctx.fleet.seed + 41 + year)
    target = (1 - COMPLIANCE[year]) * sum(o.remaining_tco2 for o in obligations_)
    share, missing = {}, 0.0
    for index in rng.permutation(len(obligations_)):
        if missing >= target or len(share) >= max(1, len(obligations_) // 50):
            break
        o = obligations_[int(index)]
        covered = float(rng.uniform(*stages.fleet_module.STRAGGLER_ON_TIME))
        covered = max(covered, 1 - (target - missing) / max(1, o.remaining_tco2))
        share[o.pk] = covered
        missing += (1 - covered) * o.remaining_tco2
    requests, late = [], []
    for o in obligations_:
        items = stages._cea_items(int(o.remaining_tco2 * share.get(o.pk, 1.0)), holdings[o.entity_id], year)
        if items:
            requests.append({"actor": ctx.entity_users[o.entity_id], "obligation": o, "items": items})
        if o.pk in share and rng.random() < 0.5:
            late.append(o.pk)
    out = surrender_bulk(requests=requests, key=f"replay-{year}-on-time", on_date=SURRENDER_DAY[year])
    refused = stages.surrender_refusals(out, requests, holdings, res)
    requests = []
    for o in Obligation.objects.filter(pk__in=late).order_by("pk"):
        items = stages._cea_items(o.remaining_tco2, holdings[o.entity_id], year)
        if items:
            requests.append({"actor": ctx.entity_users[o.entity_id], "obligation": o, "items": items})
    out = surrender_bulk(requests=requests, key=f"replay-{year}-late", on_date=dt.date(year + 2, 1, 20))
    refused += stages.surrender_refusals(out, requests, holdings, res)
    res.details.update({"year": year, "stragglers": len(share), "late_completions": len(late),
                        "refused": len(refused), "refusals": refused[:10]})


def _product(vintage: int):
    """The exchange's product of a vintage; CEA25 is listed when first traded (copied from CEA24's rules)."""
    from trading.models import Product

    product = Product.objects.filter(vintage=vintage).first()
    if product is None:
        product = Product.objects.get(vintage=vintage - 1)
        code = f"CEA{vintage % 100}"
        product.pk, product.code, product.name, product.vintage = None, code, code, vintage
        product.save()
    return product


def trading_lots(ctx: Context, year: int) -> list[dict]:
    """Entities short of the year's obligation in its eligible vintages buy from entities long in them, the
    largest shortfalls first from the largest surpluses (lots {buyer, seller, vintage, quantity})."""
    from compliance.models import Obligation
    from registry.vintages import eligible_vintages

    vintages = [v for v in eligible_vintages(year) if v <= year]
    owed = dict(Obligation.objects.filter(entity_id__in=all_ids(ctx), year=year).values_list(
        "entity_id", "quantity_tco2"))
    holdings = stages._holdings(list(owed), vintages)
    needs, supply = [], []
    for entity_id, held in holdings.items():
        balance = sum(held.values()) - owed[entity_id]
        if balance < 0:
            needs.append([-balance, entity_id])
        else:  # what it can spare, newest vintage first (it surrenders the oldest it holds last)
            spare = balance
            for vintage in sorted(held, reverse=True):
                take = min(spare, held[vintage])
                if take > 0:
                    supply.append([take, entity_id, vintage])
                    spare -= take
    supply.sort(reverse=True)
    lots = []
    for want, buyer in sorted(needs, reverse=True):
        for offer in supply:
            take = min(want, offer[0])
            if take > 0:
                lots.append({"buyer": buyer, "seller": offer[1], "vintage": offer[2], "quantity": take})
                offer[0] -= take
                want -= take
            if want == 0:
                break
    ctx.state[f"unmatched_need_{year}"] = sum(n[0] for n in needs) - sum(lot["quantity"] for lot in lots)
    return lots


def next_price(close: float, day: dt.date, rng) -> float:
    """Towards the published 2025 close (74.63 yuan) within +-4% a day, inside the +-10% listed band;
    the same level assumed for 2026 [C]."""
    step = float(np.clip((74.63 - close) / close * 0.35 + rng.normal(0, 0.01), -0.04, 0.04))
    return round(close * (1 + step), 2)


# Single-direction auctions (单向竞价) of 2025: 8 (published). The replay sells the largest shortfall lots
# of each year this way, one a day in early December before the surrender [C: who sold is not published].
AUCTIONS = 8


def auctions(ctx: Context, res: StageResult, lots: list[dict], products: dict, days: list) -> list[dict]:
    """Each lot as a seller's single-direction auction (uniform price, reserve at the last close), the short
    entity bidding for all of it at the reserve; closed and settled by the exchange's services."""
    create, bid, close = need("trading.services.auction:auction_create", "trading.services.auction:auction_bid",
                              "trading.services.auction:auction_close")
    accounts = ctx.state["trading_accounts"]
    out = []
    for lot, day in zip(lots, days, strict=False):
        product = products[lot["vintage"]]
        product.refresh_from_db()
        opens, closes = stages.local_dt(day, 10), stages.local_dt(day, 11)
        auction = create(user=ctx.entity_users[lot["seller"]], seller=accounts[lot["seller"]], product=product,
                         quantity=lot["quantity"], reserve_price=product.previous_close, pricing="uniform",
                         opens_at=opens, closes_at=closes, now=opens - dt.timedelta(days=1))
        bid(user=ctx.entity_users[lot["buyer"]], account=accounts[lot["buyer"]], auction=auction,
            price=product.previous_close, quantity=lot["quantity"], now=opens + dt.timedelta(minutes=10))
        auction = close(auction=auction, now=closes + dt.timedelta(minutes=1))
        ctx.state.setdefault("trade_log", []).append({"day": day, "vintage": lot["vintage"], "method": "auction",
                                                      "quantity": lot["quantity"],
                                                      "price": float(product.previous_close)})
        out.append({"day": str(day), "quantity": lot["quantity"], "status": auction.status})
        res.transactions += 3
        res.rows += 1
    return out


def trading(ctx: Context, res: StageResult, year: int) -> None:
    """The year's shortfalls traded in the following year (February to November), listed and bulk,
    through the exchange's services (``stages.execute_lots``)."""
    from cets.common.calendar import is_trading_day

    rng = np.random.default_rng(ctx.fleet.seed + 43 + year)
    lots = trading_lots(ctx, year)
    products = {v: _product(v) for v in sorted({lot["vintage"] for lot in lots})}
    days = [d for d in (dt.date(year + 1, 2, 1) + dt.timedelta(days=i) for i in range(300))
            if d <= dt.date(year + 1, 11, 30) and is_trading_day(d)]
    n_days = min(len(days), max(8, min(60, len(lots) // 4 + 1)))
    trading_days = [days[i] for i in sorted(rng.choice(len(days), size=n_days, replace=False))]
    by_size = sorted(range(len(lots)), key=lambda i: -lots[i]["quantity"])
    auctioned = {i for i in by_size[:AUCTIONS] if lots[i]["quantity"] >= 100_000}
    schedule = defaultdict(list)
    for i, lot in enumerate(lots):
        if i not in auctioned:
            schedule[int(rng.integers(0, n_days))].append(lot)
    stages.execute_lots(ctx, res, lots, schedule, trading_days, products, next_price, top=90 * 1.04 * 1.32,
                        rng=rng, staff_name=f"exchange-{year}")
    december = [d for d in (dt.date(year + 1, 12, 1) + dt.timedelta(days=i) for i in range(12)) if is_trading_day(d)]
    res.details["auctions"] = auctions(ctx, res, [lots[i] for i in sorted(auctioned)], products, december)
    traded = [t for t in ctx.state.get("trade_log", []) if t["day"].year == year + 1]
    res.details.update({"year": year, "lots": len(lots), "trading_days": n_days,
                        "unmatched_need_tco2": ctx.state[f"unmatched_need_{year}"],
                        "traded_tco2": sum(t["quantity"] for t in traded),
                        "value_cny": round(sum(t["quantity"] * t["price"] for t in traded), 2),
                        "close": {p.code: float(p.previous_close) for p in products.values()},
                        "auction_count": len(res.details["auctions"])})
    ctx.state[f"trading_{year + 1}"] = res.details


# Holders that apply for carry-over, and the share of what they may carry that they ask for [C: the 2026
# batches' totals are not published per holder].
CARRY_OVER_SHARE = 0.6
CARRY_OVER_FRACTION = (0.3, 1.0)


def carry_over(ctx: Context, res: StageResult) -> None:
    """The registry notifies every holder of its quota; a seeded share of holders apply (in the first batch
    or the second) for part of what they may carry; a national regulator proposes, a second approves: the
    2019-2024 units are retired and the same quantity of CEA25 issued.

    Known limit: the quota reads holdings at the scheme's cut-off (``registry_selectors.holdings_at``), and
    the registry stamps the replay's movements with the wall-clock time (after the cut-off), so the replayed
    holders' quotas are mostly 0 and few apply; a business-date clock for the registry (as
    ``voluntary.clock.frozen``) would let the replay carry over what the real holders did."""
    notices, submit, propose, decide = need(
        "compliance.carryover_services:notices_issue", "compliance.carryover_services:application_submit",
        "compliance.carryover_services:application_propose", "compliance.carryover_services:application_decide")
    from cets.common.errors import DomainError
    from compliance.carryover_selectors import scheme_get
    from compliance.models import CarryOverNotice

    scheme = scheme_get("2025")
    out = notices(actor=ctx.users["national"], scheme=scheme)
    held = stages._holdings(all_ids(ctx), list(range(scheme.first_vintage, scheme.last_vintage + 1)))
    rng = np.random.default_rng(ctx.fleet.seed + 47)
    batches = list(scheme.batches.order_by("number"))
    approved, refused = 0, []
    for notice in CarryOverNotice.objects.filter(scheme=scheme, entity_id__in=all_ids(ctx)).order_by("entity_id"):
        room = min(notice.quota_tco2, sum(held.get(notice.entity_id, {}).values()))
        if room <= 0 or rng.random() >= CARRY_OVER_SHARE:
            continue
        quantity = max(1, int(room * rng.uniform(*CARRY_OVER_FRACTION)))
        batch = batches[int(rng.integers(0, len(batches)))]
        now = stages.local_dt(min(batch.receive_until, scheme.apply_until) - dt.timedelta(days=3))
        try:
            application = submit(actor=ctx.entity_users[notice.entity_id], entity=notice.entity, scheme=scheme,
                                 quantity=quantity, now=now)
        except DomainError as exc:
            refused.append(f"{notice.entity_id}: {exc}")
            continue
        application = propose(actor=ctx.users["national"], application=application)
        decide(actor=ctx.users["national2"], application=application, approve=True)
        approved += quantity
        res.rows += 1
        res.transactions += 3
    res.details.update({"notices": out, "applications": res.rows, "carried_tco2": approved,
                        "refused": len(refused), "refusals": refused[:10]})


def closing(ctx: Context, res: StageResult, year: int) -> None:
    (close,) = need("compliance.services:cycle_close")
    from compliance.selectors import cycle_get

    job = close(actor=ctx.users["national"], cycle=cycle_get(str(year)))
    stages._wait(job)
    job.refresh_from_db()
    res.transactions = 2
    res.details.update({"year": year, "result": job.result})


def plan(years: list[int]) -> list[tuple]:
    first = years[0]
    steps = [("master data (power)", stages.master_data, (), []),
             ("master data (industry)", industry_master_data, (), ["master data (power)"]),
             (f"baseline verification {first - 1}", stages.baseline_verification, (), ["master data (power)"]),
             (f"pre-allocation {first}", allocation_by_sector, (first, "pre_allocation"),
              [f"baseline verification {first - 1}"])]
    for year in years:
        steps += [(f"monthly MRV power {year}", stages.monthly_mrv, (year,), ["master data (power)"]),
                  (f"monthly MRV industry {year}", industry_monthly, (year,), ["master data (industry)"]),
                  (f"annual reports power {year}", stages.annual_reports, (year,), [f"monthly MRV power {year}"]),
                  (f"verification power {year}", stages.verification, (year,), [f"annual reports power {year}"]),
                  (f"verification industry {year}", industry_reports_and_verification, (year,),
                   [f"monthly MRV industry {year}"])]
        verified = [f"verification power {year}", f"verification industry {year}"]
        if year != first:
            steps.append((f"balance values {year}", balance_values, (year,), list(verified)))
            verified = [*verified, f"balance values {year}"]
        steps += [(f"true-up {year}", allocation_by_sector, (year, "true_up"), verified),
                  (f"obligations {year}", obligations, (year,), [f"true-up {year}"]),
                  (f"trading {year}", trading, (year,), [f"obligations {year}"]),
                  (f"surrender {year}", surrender, (year,), [f"obligations {year}"]),
                  (f"closing {year}", closing, (year,), [f"surrender {year}"])]
        if year == 2024 and 2025 in years:
            steps.append(("carry-over", carry_over, (), ["closing 2024"]))
        if year != years[-1]:
            steps.append((f"pre-allocation {year + 1}", allocation_by_sector, (year + 1, "pre_allocation"),
                          [f"verification power {year}", f"verification industry {year}"]))
    return steps


# ---- figures ---------------------------------------------------------------------------------------------

# Published figures (sectors-2025.md S6 [A] and the issue): printed beside the system's.
PUBLISHED = {"entities": {"power": 2087, "steel": 232, "cement": 962, "aluminium": 97, "total": 3378},
             "surrender_2024_tco2": "8.194 Gt", "surrender_rate_2024": "99.99%",
             "trading_2025": "235 Mt, CNY 14.63 bn, close 74.63, 8 auctions", "ccer_registered_2025": "17.76 Mt"}


def figures(ctx: Context, years: list[int]) -> dict:
    """What the system holds after the run, by year and sector (read from its tables)."""
    from allowances.models import EntityAllocation
    from compliance.models import Obligation, SurrenderStep
    from mrv.models import Verification

    ids = all_ids(ctx)
    sector_of = dict(KeyEntity.objects.filter(pk__in=ids).values_list("pk", "sector_id"))
    out = {"entities": defaultdict(int)}
    for sector in sector_of.values():
        out["entities"][sector] += 1
    out["entities"] = dict(out["entities"], total=len(sector_of))
    if "trading_2025" in ctx.state:
        out["trading_2025"] = {k: ctx.state["trading_2025"][k] for k in ("traded_tco2", "value_cny", "close",
                                                                          "auction_count")}
    for year in years:
        y = {"verified_tco2": defaultdict(int), "allocated_tco2": defaultdict(int)}
        for entity_id, tonnes in Verification.objects.filter(entity_id__in=ids, year=year,
                                                              status="confirmed").values_list(
                "entity_id", "verified_emissions_tco2"):
            y["verified_tco2"][sector_of[entity_id]] += int(tonnes)
        run = ctx.state.get(f"run_{year}_true_up")
        for entity_id, tonnes in EntityAllocation.objects.filter(run_id=run).values_list("entity_id",
                                                                                          "allocation_tco2"):
            y["allocated_tco2"][sector_of[entity_id]] += int(tonnes)
        obligations_ = list(Obligation.objects.filter(entity_id__in=ids, year=year))
        late = set(SurrenderStep.objects.filter(obligation__in=obligations_, late=True)
                   .values_list("obligation_id", flat=True))
        owed = sum(o.quantity_tco2 for o in obligations_)
        covered = sum(o.covered_tco2 for o in obligations_)
        on_time = [o for o in obligations_ if o.remaining_tco2 == 0 and o.pk not in late]
        y.update({"verified_tco2": dict(y["verified_tco2"]), "allocated_tco2": dict(y["allocated_tco2"]),
                  "obligations": len(obligations_), "obligation_tco2": owed, "surrendered_tco2": covered,
                  "surrender_rate": round(covered / owed, 6) if owed else None,
                  "entities_complete_on_time": len(on_time)})
        out[str(year)] = y
    return out


def headline(system: dict, years: list[int]) -> list[tuple[str, str, str]]:
    """(label, system, published) rows; "-" where nothing is published."""
    rows = [(f"entities {s}", str(system["entities"].get(s, 0)), str(PUBLISHED["entities"][s]))
            for s in (*SECTORS, "total")]
    for year in years:
        y = system.get(str(year), {})
        for s in SECTORS:
            rows.append((f"{year} verified {s} (Mt)", f"{y.get('verified_tco2', {}).get(s, 0) / 1e6:,.1f}", "-"))
            rows.append((f"{year} allocated {s} (Mt)", f"{y.get('allocated_tco2', {}).get(s, 0) / 1e6:,.1f}", "-"))
        rows.append((f"{year} obligations (entities)", str(y.get("obligations", 0)), "-"))
        rows.append((f"{year} surrendered (Gt)", f"{y.get('surrendered_tco2', 0) / 1e9:.3f}",
                     PUBLISHED["surrender_2024_tco2"] if year == 2024 else "-"))
        rate = y.get("surrender_rate")
        rows.append((f"{year} surrender rate", f"{rate:.3%}" if rate is not None else "-",
                     PUBLISHED["surrender_rate_2024"] if year == 2024 else "-"))
    traded = system.get("trading_2025")
    rows += [("2025 trading (traded, value, close)", "not replayed" if not traded else
              f"{traded['traded_tco2'] / 1e6:,.1f} Mt, CNY {traded['value_cny'] / 1e9:,.2f} bn, close "
              + ", ".join(f"{k} {v:.2f}" for k, v in traded["close"].items())
              + f", {traded['auction_count']} auctions", PUBLISHED["trading_2025"]),
             ("CCER registered by end-2025", "not replayed", PUBLISHED["ccer_registered_2025"])]
    return rows
