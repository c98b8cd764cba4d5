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

Every stage that moves units runs on its business date (``cets.common.clock.as_of``; trading passes its own
times): the registry's legs then fall on the replayed days, and the carry-over quotas, which read holdings at
the 2025-12-31 cut-off and net sales of 2024-2025, are those of the replayed history (``BUSINESS_DAY``).

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

from cets.common import clock
from entities.models import AgencyAssignment, City, KeyEntity, Province, Unit, User

from . import industry as industry_module
from . import offsets, stages
from .stages import Context, StageResult, need, replay_report

YEARS = [2024, 2025]
SECTORS = ("power", "steel", "cement", "aluminium")
SURRENDER_DAY = {2024: dt.date(2025, 12, 15), 2025: dt.date(2026, 12, 15)}
# 99.99% of 2024's obligations surrendered on time (S6 [A]); the replay assumes the same for 2025 [C].
COMPLIANCE = {2024: 0.9999, 2025: 0.9999}
# The business day of each allocation run [C: the 2024 runs' days are not published; 2025's are the milestones:
# industry pre-allocation by 2026-04-10 (power's by 06-30, run with it), final allocation by 2026-09-20].
BUSINESS_DAY = {(2024, "pre_allocation"): dt.date(2024, 12, 20), (2024, "true_up"): dt.date(2025, 9, 19),
                (2025, "pre_allocation"): dt.date(2026, 4, 10), (2025, "true_up"): dt.date(2026, 9, 18)}


def settling_vintages(year: int) -> list[int]:
    """The vintages that settle ``year``'s obligations and exist by then (2024: 2019-2024; 2025: CEA25)."""
    from registry.vintages import eligible_vintages

    return [v for v in eligible_vintages(year) if v <= year]


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

    with clock.as_of(stages.local_dt(BUSINESS_DAY[(year, kind)])):
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
    cover U(0.75, 0.97) on time; half of them complete after the deadline, before the closing. CEA-only
    surrenders go through ``compliance.surrender_bulk`` (the same rules, 250 obligations a transaction); for
    2025 an entity that received CCERs (``offsets.ccer_2025``) cancels them in its own surrender with the rest
    in CEAs, and the holder of pre-relaunch CCERs offers them first and is refused (``offsets.offer_stale``).
    Every surrender runs as of its day (``cets.common.clock``)."""
    (surrender_, surrender_bulk) = need("compliance.services:surrender", "compliance.surrender_bulk:surrender_bulk")
    from cets.common.errors import DomainError
    from compliance.models import Obligation

    vintages = settling_vintages(year)
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
    requests, refused, late, stale = [], [], [], ctx.state.get("ccer_2025_stale", {})
    day, late_day = SURRENDER_DAY[year], dt.date(year + 2, 1, 20)
    with clock.as_of(stages.local_dt(day)):
        for o in obligations_:
            quantity = int(o.remaining_tco2 * share.get(o.pk, 1.0))
            ccer = offsets.items_for(ctx, o.entity_id, year)
            items = ccer + stages._cea_items(quantity - sum(i["quantity"] for i in ccer), holdings[o.entity_id], year)
            if year == 2025 and o.entity_id == stale.get("entity"):
                res.details["stale_ccer_offered"] = offsets.offer_stale(ctx, surrender_, o, day)
            if ccer:
                try:
                    surrender_(actor=ctx.entity_users[o.entity_id], obligation=o, items=items, on_date=day)
                    res.rows += len(items)
                    res.transactions += 1
                except DomainError as exc:
                    refused.append(f"{o.entity_id}: {exc}")
                    stages._give_back(holdings[o.entity_id], items)
            elif items:
                requests.append({"actor": ctx.entity_users[o.entity_id], "obligation": o, "items": items})
            if o.pk in share and rng.random() < 0.5:
                late.append(o.pk)
        out = surrender_bulk(requests=requests, key=f"replay-{year}-on-time", on_date=day)
    refused += stages.surrender_refusals(out, requests, holdings, res)
    requests = []
    for o in Obligation.objects.filter(pk__in=late).order_by("pk"):
        items = stages._cea_items(o.remaining_tco2, holdings[o.entity_id], year)
        if items:
            requests.append({"actor": ctx.entity_users[o.entity_id], "obligation": o, "items": items})
    with clock.as_of(stages.local_dt(late_day)):
        out = surrender_bulk(requests=requests, key=f"replay-{year}-late", on_date=late_day)
    refused += stages.surrender_refusals(out, requests, holdings, res)
    res.details.update({"year": year, "stragglers": len(share), "late_completions": len(late),
                        "refused": len(refused), "refusals": refused[:10]})
    if year == 2025 and stale and res.details.get("stale_ccer_offered") != "ccer_registered_too_early":
        res.status = "failed"
        res.reason = f"pre-relaunch CCERs were not refused: {res.details.get('stale_ccer_offered')}"


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
    """Entities short of the year's obligation in its eligible vintages (less the CCERs they will cancel) buy
    from entities long in them, the largest shortfalls first from the largest surpluses (lots {buyer, seller,
    vintage, quantity}). Each long entity offers the same share of its surplus (what the shortfalls need of all
    surpluses, rounded up) and keeps the rest [C]: holders keep part of their surplus, as carry-over needs."""
    from compliance.models import Obligation
    vintages = settling_vintages(year)
    owed = dict(Obligation.objects.filter(entity_id__in=all_ids(ctx), year=year).values_list(
        "entity_id", "quantity_tco2"))
    holdings = stages._holdings(list(owed), vintages)
    for entity_id, uses in ctx.state.get(f"ccer_{year}", {}).items():
        owed[entity_id] -= sum(q for _code, q in uses)
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
    share = min(1.0, sum(n[0] for n in needs) / max(1, sum(o[0] for o in supply)))
    supply = sorted(([min(o[0], int(np.ceil(o[0] * share))), o[1], o[2]] for o in supply), reverse=True)
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


# The price path of 2025 [C: only the close, 74.63 yuan on the last trading day, is published (S6 [A]); the
# points between are assumed, falling from early 2025 to an autumn low and recovering to the close, so that the
# year's value over its volume comes near the published average, CNY 14.63 bn / 235 Mt = 62.3 yuan]. 2026
# stays at the close's level [C].
PRICE_PATH = [(dt.date(2025, 2, 1), 85.0), (dt.date(2025, 5, 1), 70.0), (dt.date(2025, 8, 1), 62.0),
              (dt.date(2025, 10, 15), 45.0), (dt.date(2025, 11, 20), 62.0), (dt.date(2025, 12, 12), 74.63)]
CLOSE = 74.63


def price_target(day: dt.date) -> float:
    if day.year != 2025:
        return CLOSE
    ordinals = [d.toordinal() for d, _p in PRICE_PATH]
    return float(np.interp(day.toordinal(), ordinals, [p for _d, p in PRICE_PATH]))


def next_price(close: float, day: dt.date, rng) -> float:
    """Towards ``price_target`` within +-4% a day (inside the +-10% listed band); on the path's last day or
    later, at the target once it is within the band (the year closes at the published close)."""
    target = price_target(day)
    if day >= PRICE_PATH[-1][0] and abs(target - close) <= 0.1 * close:
        return round(target, 2)
    step = float(np.clip((target - close) / close * 0.35 + rng.normal(0, 0.01), -0.04, 0.04))
    return round(close * (1 + step), 2)


# Single-direction auctions (单向竞价) of 2025: 8 (published). The replay sells the 8 largest shortfall lots
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
    """The year's shortfalls traded in the following year (February to mid-December), listed and bulk,
    through the exchange's services (``stages.execute_lots``), with the round trips of long and short holders
    (``stages.round_trip_lots``: a seeded quarter of the holders sell 1-9% of what they hold beyond their sales
    to a peer of their province and buy it back on a later day; 2 legs x 0.25 x 5% x ~8.2 Gt held = ~205 Mt
    nationally, with ~30 Mt of shortfalls the published 235 Mt [C]); the 8 largest shortfall lots as
    single-direction auctions in the first trading days of December."""
    from cets.common.calendar import is_trading_day

    rng = np.random.default_rng(ctx.fleet.seed + 43 + year)
    lots = trading_lots(ctx, year)
    by_size = sorted(range(len(lots)), key=lambda i: -lots[i]["quantity"])
    auctioned = [lots[i] for i in sorted(by_size[:AUCTIONS])]
    december = [d for d in (dt.date(year + 1, 12, 1) + dt.timedelta(days=i) for i in range(12))
                if is_trading_day(d)][:len(auctioned)]
    vintages = settling_vintages(year)
    holdings = stages._holdings(all_ids(ctx), vintages)
    provinces = dict(KeyEntity.objects.filter(pk__in=list(holdings)).values_list("pk", "province_id"))
    # Round trips in the year's own vintage (the earlier ones are not held by the replay's entities).
    traded_vintages = {year} | {lot["vintage"] for lot in lots}
    holdings = {e: {v: q for v, q in held.items() if v in traded_vintages} for e, held in holdings.items()}
    trips = stages.round_trip_lots(holdings, lots, provinces, ctx.fleet.seed + year)
    listed = [lot for i, lot in enumerate(lots) if i not in set(by_size[:AUCTIONS])]
    products = {v: _product(v) for v in sorted({lot["vintage"] for lot in lots + trips})}
    days = [d for d in (dt.date(year + 1, 2, 1) + dt.timedelta(days=i) for i in range(320))
            if d <= dt.date(year + 1, 12, 12) and is_trading_day(d) and d not in december]
    n_days = min(len(days), max(8, min(60, (len(listed) + len(trips)) // 4 + 1)))
    picked = rng.choice(len(days) - 1, size=n_days - 1, replace=False)  # and the last day: the year's close
    trading_days = [days[i] for i in sorted(picked)] + [days[-1]]
    schedule, sold_on = defaultdict(list), {}
    for lot in listed:
        schedule[int(rng.integers(0, n_days))].append(lot)
    if listed:  # the smallest shortfall lot (a listed order) on the last day: the session closes the year
        smallest = min(listed, key=lambda x: x["quantity"])
        for day_lots in schedule.values():
            if smallest in day_lots:
                day_lots.remove(smallest)
        schedule[n_days - 1].append(smallest)
    for lot in trips:  # the early leg on any day but the last, the late one on a later day
        if lot["leg"] == "early":
            day = sold_on[lot["pair"]] = int(rng.integers(0, n_days - 1))
        else:
            day = int(rng.integers(sold_on[lot["pair"]] + 1, n_days))
        schedule[day].append(lot)
    # The auctions' parties get their trading accounts and cash with the others (scheduled on no listed day).
    stages.execute_lots(ctx, res, listed + trips + auctioned, schedule, trading_days, products, next_price,
                        top=90 * 1.04 * 1.32, rng=rng, staff_name=f"exchange-{year}")
    res.details["auctions"] = auctions(ctx, res, auctioned, products, december)
    traded = [t for t in ctx.state.get("trade_log", []) if t["day"].year == year + 1]
    res.details.update({"year": year, "lots": len(lots), "round_trip_lots": len(trips), "trading_days": n_days,
                        "round_trip_tco2": sum(lot["quantity"] for lot in trips),
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
    2019-2024 units are retired and the same quantity of CEA25 issued, two days after the application (the
    registry's moves as of that day, ``cets.common.clock``). The quotas are read from the replayed history:
    holdings at the cut-off and net sales of 2024-2025, both stamped on their business days."""
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
        with clock.as_of(now + dt.timedelta(days=2)):
            application = propose(actor=ctx.users["national"], application=application)
            decide(actor=ctx.users["national2"], application=application, approve=True)
        approved += quantity
        res.rows += 1
        res.transactions += 3
    res.details["quotas"] = quota_summary(scheme, all_ids(ctx))
    res.details.update({"notices": out, "applications": res.rows, "carried_tco2": approved,
                        "refused": len(refused), "refusals": refused[:10]})


def quota_summary(scheme, entity_ids: list[int]) -> dict:
    """The notices' quotas: holders, sellers (net sales > 0), sellers at the formula (10,000 + 1.5 x net
    sales) and capped at their holdings, quotas above the base, zero quotas, total."""
    from compliance.carryover import quota
    from compliance.models import CarryOverNotice

    rows = list(CarryOverNotice.objects.filter(scheme=scheme, entity_id__in=entity_ids).values_list(
        "net_sales_tco2", "holdings_tco2", "quota_tco2"))
    sellers = [r for r in rows if r[0] > 0]
    uncapped = [quota(net_sales=r[0], holdings=r[0] * 2 + scheme.base_tco2, base=scheme.base_tco2,
                      multiplier=scheme.multiplier) for r in sellers]
    return {"holders": len(rows), "sellers": len(sellers),
            "sellers_at_formula": sum(r[2] == u for r, u in zip(sellers, uncapped, strict=True)),
            "sellers_capped": sum(r[2] == r[1] < u for r, u in zip(sellers, uncapped, strict=True)),
            "sellers_above_base": sum(r[2] > scheme.base_tco2 for r in sellers),
            "above_base": sum(r[2] > scheme.base_tco2 for r in rows), "zero": sum(r[2] == 0 for r in rows),
            "total_tco2": sum(r[2] for r in rows)}


def ccer(ctx: Context, res: StageResult) -> None:
    offsets.ccer_2025(ctx, res, all_ids(ctx))


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
                  *([("CCER 2025", ccer, (), ["obligations 2025"])] if year == 2025 else []),
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
                                                                          "auction_count", "round_trip_tco2")}
    if "ccer_issued_2025" in ctx.state:
        used = [(o.offsets_tco2, o.quantity_tco2) for o in Obligation.objects.filter(entity_id__in=ids, year=2025)
                if o.offsets_tco2]
        out["ccer"] = {"issued_by_end_2025_tco2": ctx.state["ccer_issued_2025"],
                       "published_scaled_tco2": round(offsets.PUBLISHED_TCO2 * len(ids) / offsets.NATIONAL_ENTITIES),
                       "used_2025_tco2": sum(u for u, _q in used), "entities": len(used),
                       "max_share": max((u / q for u, q in used), default=0)}
    if "carry-over" in ctx.done:
        from compliance.carryover_selectors import scheme_get

        out["carry_over"] = quota_summary(scheme_get("2025"), ids)
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
    traded, share = system.get("trading_2025"), system["entities"]["total"] / PUBLISHED["entities"]["total"]
    rows.append(("2025 trading (traded, value, close)", "not replayed" if not traded else
                 f"{traded['traded_tco2'] / 1e6:,.1f} Mt, CNY {traded['value_cny'] / 1e9:,.2f} bn, close "
                 + ", ".join(f"{k} {v:.2f}" for k, v in traded["close"].items())
                 + f", {traded['auction_count']} auctions",
                 PUBLISHED["trading_2025"] + f" (run's share: {235 * share:,.1f} Mt, CNY {14.63 * share:,.2f} bn)"))
    ccer_ = system.get("ccer")
    rows += [("CCER registered by end-2025", "not replayed" if not ccer_ else
              f"{ccer_['issued_by_end_2025_tco2'] / 1e6:,.2f} Mt (run's share of the published: "
              f"{ccer_['published_scaled_tco2'] / 1e6:,.2f} Mt)", PUBLISHED["ccer_registered_2025"])]
    if ccer_:
        rows.append(("CCER used for 2025 (entities, max share)", f"{ccer_['used_2025_tco2'] / 1e6:,.2f} Mt "
                     f"({ccer_['entities']}, {ccer_['max_share']:.2%})", "- (cap 5%)"))
    carry = system.get("carry_over")
    if carry:
        rows.append(("carry-over quotas (sellers at formula/capped)",
                     f"{carry['total_tco2'] / 1e6:,.2f} Mt, {carry['holders']} holders, {carry['sellers']} "
                     f"sellers ({carry['sellers_at_formula']}/{carry['sellers_capped']})", "-"))
    return rows
