"""Early warnings by sector plausibility (ranges from PlausibilityRange rows), and missing or late months of every
sector's facilities; the entity sees its own warnings, another organisation or province none."""

import datetime as dt

import pytest

from mrv import early_warnings, services
from mrv.models import EarlyWarning, PlausibilityRange

from .conftest import ALUMINIUM_MONTH, CEMENT_MONTH, STEEL_MONTH

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 4, 20)


def _month(entity, user, inputs, month=3):
    return services.submission_submit(actor=user, unit=entity.units.get(), year=2025, month=month, inputs=inputs,
                                      today=TODAY)


def _rules(sub) -> dict:
    early_warnings.warnings_run(submission_ids=[sub.pk], today=TODAY)
    return {w.rule.code: w for w in EarlyWarning.objects.filter(submission=sub)}


def test_plausible_months_raise_no_warning(cement_entity, aluminium_entity, facility_user):
    for entity, body in ((cement_entity, CEMENT_MONTH), (aluminium_entity, ALUMINIUM_MONTH)):
        assert _rules(_month(entity, facility_user(entity), body)) == {}


def test_clinker_factor_out_of_range(cement_entity, facility_user):
    sub = _month(cement_entity, facility_user(cement_entity), {**CEMENT_MONTH, "clinker_factor": "0.60"})
    found = _rules(sub)
    assert set(found) == {"clinker_factor_range"}
    warning = found["clinker_factor_range"]
    assert warning.details == {"clinker_factor": 0.6, "clinker_type": "portland"}
    assert warning.message == "Clinker factor 0.6000 tCO2/t is outside the plausible 0.5-0.56 for portland clinker."
    assert (warning.unit_id, warning.month, warning.status) == (cement_entity.units.get().pk, 3, "detected")


def test_range_rows_are_data(cement_entity, facility_user):
    PlausibilityRange.objects.filter(parameter="clinker_factor", fuel="portland").update(high="0.65")
    assert _rules(_month(cement_entity, facility_user(cement_entity), {**CEMENT_MONTH, "clinker_factor": "0.60"})) \
        == {}


def test_anode_consumption_and_pfc_per_tonne(aluminium_entity, facility_user):
    body = {**ALUMINIUM_MONTH, "net_anode_consumption": "0.55", "anode_effect_minutes": "1.0"}
    found = _rules(_month(aluminium_entity, facility_user(aluminium_entity), body))
    assert set(found) == {"net_anode_consumption_range", "pfc_per_tonne", "sector_intensity"}
    assert found["net_anode_consumption_range"].details == {"net_anode_consumption": 0.55}
    # CF4 0.143 x 1.0 x 6630 / 1000 + C2F6 0.0143 x 11100 / 1000 = 1.10682 tCO2e per t aluminium
    assert found["pfc_per_tonne"].details == {"pfc_per_t": 1.10682}
    assert found["sector_intensity"].details["intensity"] == pytest.approx(3.075, abs=0.001)


def test_steel_carbon_balance_per_tonne_of_crude_steel(steel_entity, facility_user):
    body = {**STEEL_MONTH, "products": [{"product": "crude_steel", "quantity": "1000000"}]}
    found = _rules(_month(steel_entity, facility_user(steel_entity), body))
    # (539,983.506 + 176,563.505 + 13,200 - 37,000) / 1,000,000 = 0.6927 t/t, below 1.4
    assert found["steel_carbon_balance"].details["per_t_crude_steel"] == pytest.approx(0.692747)
    assert "sector_intensity" in found  # (61,347.565 + 288,770.735) / 370,000 = 0.9463, above 0.80


def test_missing_and_late_months_of_every_sector(api, cement_entity, aluminium_entity, steel_entity,
                                                 facility_user, other_entity_user, guangdong, hubei):
    _month(cement_entity, facility_user(cement_entity), CEMENT_MONTH)
    late = services.submission_submit(actor=facility_user(aluminium_entity), unit=aluminium_entity.units.get(),
                                      year=2025, month=3, inputs=ALUMINIUM_MONTH, today=dt.date(2025, 5, 11))
    assert late.on_time is False
    early_warnings.warnings_run(year=2025, today=dt.date(2025, 5, 11))
    missing = set(EarlyWarning.objects.filter(rule__code="missing_month", entity__province__code="42")
                  .values_list("unit__code", "month"))
    assert missing == {(code, m) for code in ("HB-CEM-L1", "HB-AL-P1", "HB-ST-01") for m in (1, 2)} | {
        ("HB-ST-01", 3)}
    assert EarlyWarning.objects.get(rule__code="late_submission").unit.code == "HB-AL-P1"
    mine = api(facility_user(cement_entity)).get("/api/v1/mrv/warnings/").json()
    assert sorted(w["month"] for w in mine["results"]) == [1, 2]
    hubei_entities = {cement_entity.pk, aluminium_entity.pk, steel_entity.pk}
    for outsider in (other_entity_user, guangdong):  # they see their own power unit's missing months only
        seen = api(outsider).get("/api/v1/mrv/warnings/").json()["results"]
        assert len(seen) == 3 and not {w["entity"] for w in seen} & hubei_entities
    assert api(hubei).get("/api/v1/mrv/warnings/").json()["count"] == 8
