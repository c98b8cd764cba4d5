"""CCER offsets of the 2025 obligations in the four-sector replay (issue 16 point 6).

Offshore wind projects (CCER-01-002-V01, a methodology in force in 2025) go through the voluntary
market's services on their business dates (``cets.common.clock.as_of``, which ``voluntary.clock`` reads):
owners and VVBs admitted, design disclosed, validated after the 20 working days, registered in 2024
(after the market's relaunch on 2024-01-22), monitoring of 2024-2025 verified by another VVB, registered
and issued with serial numbers in 2025, so that what is issued by end-2025 is the published 17.76 Mt
scaled by entities / 3,378 (S6 [A]). In October 2026 the owners transfer the credits to entities, short
ones first, each at most 5% of its 2025 obligation (compliance's cap), which they cancel in the 2025
surrender (``four_sectors.surrender``).

The refusal path: one older project, registered and issued in 2023 (before the relaunch), transfers its
credits to one entity, which offers them first for its 2025 obligation; the registry's surrender refuses
them (``ccer_registered_too_early``, voluntary's ``OffsetRule``) and the entity settles with eligible units.
The replay records the refusal; it never bypasses it.

[C] (not published per project): ~1 Mt a project, 400 MW each, grid emission factor as the methodology's;
the dates above.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.hashers import make_password

from cets.common import clock
from entities.models import User

from .stages import Context, StageResult, _credit, local_dt, need

PUBLISHED_TCO2 = 17_760_000  # CCERs registered (issued) by end-2025, S6 [A]
NATIONAL_ENTITIES = 3378
PER_PROJECT_TCO2 = 1_000_000  # [C]
CAP = Decimal("0.05")
COASTAL = ["32", "37", "44", "35"]  # Jiangsu, Shandong, Guangdong, Fujian: offshore wind
# (project created and disclosed, validated, applied and registered, reported, verified, issued) [C]
NEW = (dt.date(2024, 6, 3), dt.date(2024, 7, 15), dt.date(2024, 8, 15), dt.date(2025, 8, 1), dt.date(2025, 8, 20),
       dt.date(2025, 10, 15))
OLD = (dt.date(2023, 3, 1), dt.date(2023, 4, 14), dt.date(2023, 5, 15), dt.date(2023, 10, 9), dt.date(2023, 10, 30),
       dt.date(2023, 12, 15))
TRANSFER_DAY = dt.date(2026, 10, 12)


def _pdf(name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"%PDF-1.4 replay document", content_type="application/pdf")


def _at(day: dt.date):
    return clock.as_of(local_dt(day))


def _project(ctx: Context, vvbs: list, index: int, dates: tuple, tco2: float) -> list:
    """One offshore wind project's cycle on ``dates``; returns (owner user, issuance) pairs."""
    (register_org, create, upload, publish, validate, apply_, register, report_create, report_submit, verify,
     report_apply, report_register) = need(
        "voluntary.services:organisation_register", "voluntary.services:project_create",
        "voluntary.services:document_upload", "voluntary.services:project_publish",
        "voluntary.services:project_validate", "voluntary.services:project_apply",
        "voluntary.services:project_register", "voluntary.services:report_create",
        "voluntary.services:report_submit", "voluntary.services:report_verify", "voluntary.services:report_apply",
        "voluntary.services:report_register")
    from voluntary.models import Methodology

    seed, national = ctx.fleet.seed, ctx.users["national"]
    created, validated, registered, reported, verified, issued = dates
    province = COASTAL[index % len(COASTAL)]
    validator, verifier = vvbs
    with _at(created):
        org = register_org(actor=national, kind="project_owner", name=f"Replay 2025 offshore wind {index} [{seed}]",
                           credit_code=_credit(seed, 97000 + index, "110100"), province_id=province)
        owner = User.objects.create(username=f"rp{seed}-owner25-{index}", role=User.Role.PROJECT_OWNER,
                                    organisation=org, password=make_password(None))
        project = create(actor=owner, methodology=Methodology.objects.get(code="CCER-01-002-V01"),
                         validator=validator[0], title=f"海上风电 2025-{index} [replay {seed}]",
                         site=f"Offshore block 25-{seed}-{index}", province_id=province, capacity=Decimal("400"),
                         construction_start=created.replace(year=created.year - 2),
                         crediting_start=created.replace(month=1, day=1),
                         crediting_end=created.replace(year=created.year + 9, month=12, day=31),
                         parameters={"grid_connected": True, "offshore_distance_km": 45, "water_depth_m": 35})
        upload(actor=owner, project=project, kind="design", upload=_pdf("design.pdf"))
        project = publish(actor=owner, project=project)
    with _at(validated):
        upload(actor=validator[1], project=project, kind="validation", upload=_pdf("validation.pdf"))
        project = validate(actor=validator[1], project=project, positive=True, conclusion="Meets CCER-01-002-V01.")
    with _at(registered):
        project = register(actor=national, project=apply_(actor=owner, project=project))
    with _at(reported):
        report = report_create(actor=owner, project=project, verifier=verifier[0],
                               period_start=project.crediting_start, period_end=reported.replace(month=6, day=30),
                               net_export_mwh=Decimal(f"{tco2 / 0.7:.3f}"))
        upload(actor=owner, project=project, kind="monitoring", upload=_pdf("monitoring.pdf"), report=report)
        report = report_submit(actor=owner, report=report)
    with _at(verified):
        upload(actor=verifier[1], project=project, kind="verification", upload=_pdf("verification.pdf"), report=report)
        report = verify(actor=verifier[1], report=report, verified_net_export_mwh=report.net_export_mwh)
    with _at(issued):
        report = report_apply(actor=owner, report=report)
        return [(owner, i) for i in report_register(actor=national, report=report)]


def _vvbs(ctx: Context) -> list:
    (register_org,) = need("voluntary.services:organisation_register")
    seed = ctx.fleet.seed
    out = []
    with _at(dt.date(2023, 2, 1)):
        for i in range(2):
            org = register_org(actor=ctx.users["national"], kind="vvb", name=f"Replay 2025 VVB {i} [{seed}]",
                               credit_code=_credit(seed, 98000 + i, "110100"), province_id="11",
                               accreditations=[{"scope": "CCER sector 01", "number": f"RP25-VVB-{seed}-{i}",
                                                "valid_from": dt.date(2020, 1, 1), "valid_to": dt.date(2030, 12, 31)}])
            out.append((org, User.objects.create(username=f"rp{seed}-vvb25-{i}", role=User.Role.VVB,
                                                 organisation=org, password=make_password(None))))
    return out


def ccer_2025(ctx: Context, res: StageResult, ids: list[int]) -> None:
    """Projects registered and issued, credits transferred to the entities of ``ids`` (2025 obligations), short
    ones first, at most 5% of each obligation; ``ctx.state["ccer_2025"]``: {entity pk: [(instrument, t)]}."""
    (transfer,) = need("voluntary.services:ccer_transfer")
    from compliance.models import Obligation
    from registry import services as registry

    target = PUBLISHED_TCO2 * len(ids) / NATIONAL_ENTITIES
    n_projects = max(1, round(target / PER_PROJECT_TCO2))
    vvbs = _vvbs(ctx)
    issued = []
    for i in range(n_projects):
        issued += _project(ctx, vvbs, i, NEW, target / n_projects)
        res.transactions += 14
    old = _project(ctx, vvbs, n_projects, OLD, 20_000)
    obligations = sorted(Obligation.objects.filter(entity_id__in=ids, year=2025).select_related("entity"),
                         key=lambda o: (-(o.verified_emissions_tco2 - o.allocation_tco2), o.entity_id))
    uses = ctx.state.setdefault("ccer_2025", {})
    pool = [[owner, issuance.instrument_code, issuance.quantity] for owner, issuance in issued]
    with _at(TRANSFER_DAY):
        for o in obligations:
            want = int(o.quantity_tco2 * CAP)
            account = registry.account_for_entity(entity=o.entity)
            while want > 0 and pool:
                owner, code, left = pool[0]
                take = min(want, left)
                transfer(actor=owner, instrument_code=code, to_account=account.number, quantity=take)
                uses.setdefault(o.entity_id, []).append((code, take))
                want -= take
                pool[0][2] -= take
                if pool[0][2] == 0:
                    pool.pop(0)
                res.transactions += 1
            if not pool:
                break
        # The pre-relaunch credits go to the first entity that received none of the others (else the last one).
        stale = next((o for o in obligations if o.entity_id not in uses), obligations[-1])
        owner, issuance = old[0]
        transfer(actor=owner, instrument_code=issuance.instrument_code,
                 to_account=registry.account_for_entity(entity=stale.entity).number, quantity=issuance.quantity)
    # Transfers to accounts not yet trusted wait for the registry's delay: run the periodic task once it passed.
    with _at(TRANSFER_DAY + dt.timedelta(days=10)):
        executed = registry.transfers_execute_due()
    ctx.state["ccer_2025_stale"] = {"entity": stale.entity_id, "instrument": issuance.instrument_code,
                                    "quantity": issuance.quantity}
    issued_by_2025 = sum(i.quantity for _o, i in issued if i.issued_on <= dt.date(2025, 12, 31))
    res.rows = len(issued) + sum(len(v) for v in uses.values())
    res.details.update({"projects": n_projects, "published_scaled_tco2": round(target),
                        "issued_by_end_2025_tco2": issued_by_2025,
                        "transferred_tco2": sum(q for v in uses.values() for _c, q in v), "entities": len(uses),
                        "stale": ctx.state["ccer_2025_stale"], "delayed_transfers_executed": executed})
    ctx.state["ccer_issued_2025"] = issued_by_2025


def items_for(ctx: Context, entity_id: int, year: int) -> list[dict]:
    """The CCER items an entity cancels against its ``year`` obligation (2025 only)."""
    if year != 2025:
        return []
    return [{"kind": "ccer", "instrument": code, "quantity": q} for code, q in ctx.state.get("ccer_2025", {}).get(
        entity_id, [])]


def offer_stale(ctx: Context, surrender_, obligation, on_date: dt.date) -> str:
    """The entity holding pre-relaunch CCERs offers them for its 2025 obligation first: the registry refuses
    them; returns the refusal's code (the replay fails the stage if it was accepted)."""
    from cets.common.errors import DomainError

    stale = ctx.state["ccer_2025_stale"]
    try:
        surrender_(actor=ctx.entity_users[obligation.entity_id], obligation=obligation, on_date=on_date,
                   items=[{"kind": "ccer", "instrument": stale["instrument"], "quantity": min(
                       stale["quantity"], int(obligation.remaining_tco2 * CAP))}])
    except DomainError as exc:
        return exc.code
    return "accepted"
