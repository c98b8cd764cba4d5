"""Two provincial regulators decide one assignment at once (PostgreSQL row locks): it is decided once.

Both lock the assignment row before reading its state; the one that waited finds it ended and is refused
``already_ended`` with nothing changed, so there is never a second new agency or a second audit entry.
"""

import pytest

from cets.common.errors import DomainError
from cets.common.models import AuditEntry
from entities.models import AgencyAssignment, User
from entities.services import agency_assign
from mrv import agencies, verifications
from tests import factories as f

from .conftest import signed_report
from .test_oversight import VALUES
from .test_upload_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hubei2(db):
    return f.regulator(User.Role.PROVINCIAL_REGULATOR, province_code="42", username="hubei-2")


def test_two_regulators_replacing_one_assignment_replace_it_once(entity, agency, hubei, hubei2):
    first, second = f.OrganisationFactory(name="甲核查"), f.OrganisationFactory(name="乙核查")
    for round_ in range(3):
        assignment = agency_assign(actor=hubei, entity=entity, agency=agency, year=2020 + round_)
        outcomes = race(
            lambda a=assignment: agencies.assignment_replace(actor=hubei, assignment=a, agency=first, reason="r1"),
            lambda a=assignment: agencies.assignment_replace(actor=hubei2, assignment=a, agency=second, reason="r2"))
        won = [o for o in outcomes if isinstance(o, AgencyAssignment)]
        lost = [o for o in outcomes if isinstance(o, DomainError)]
        assert len(won) == 1 and [e.code for e in lost] == ["already_ended"]
        active = AgencyAssignment.objects.filter(entity=entity, year=2020 + round_, status="active")
        assert list(active.values_list("agency_id", flat=True)) == [won[0].agency_id]
        assignment.refresh_from_db()
        assert (assignment.status, assignment.replaced_by_id) == ("replaced", won[0].pk)
    assert AuditEntry.objects.filter(action="agency.assignment_replace").count() == 3


def test_a_cancel_racing_the_agencys_submission_never_leaves_a_report_from_a_cancelled_agency(
        entity, agency, verifier, hubei):
    outcomes = set()
    for year in (2021, 2022, 2023):
        assignment = agency_assign(actor=hubei, entity=entity, agency=agency, year=year)
        cancel, submit = race(
            lambda a=assignment: agencies.assignment_cancel(actor=hubei, assignment=a, reason="withdrawn"),
            lambda y=year: verifications.verification_submit(**signed_report(), actor=verifier, entity=entity,
                                                             year=y, unit_values=VALUES))
        assignment.refresh_from_db()
        if isinstance(cancel, AgencyAssignment):
            assert submit.code == "not_found" and assignment.status == "cancelled"
            assert not entity.verifications.filter(year=year, status="submitted").exists()
            outcomes.add("cancel first")
        else:
            assert cancel.code == "report_submitted" and assignment.status == "active"
            assert entity.verifications.get(year=year).status == "submitted"
            outcomes.add("submit first")
    assert outcomes  # each round ends in exactly one of the two consistent states


def test_two_regulators_deciding_one_warning_at_once_decide_it_once(entity_user, unit, wuhan):
    from mrv import early_warnings, services
    from mrv.models import EarlyWarning, WarningEvent

    from .conftest import month_row

    wuhan2 = f.regulator(User.Role.MUNICIPAL_REGULATOR, province_code="42", city_code="420100", username="wuhan-2")
    result = services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, load_factor="0.1")])
    early_warnings.warnings_run(submission_ids=result["ids"])
    warning = EarlyWarning.objects.get(rule__code="load_factor_range")
    transfer, ask = race(
        lambda: early_warnings.warning_transition(actor=wuhan, warning=warning, to="transferred"),
        lambda: early_warnings.warning_transition(actor=wuhan2, warning=warning, to="rectification_requested"))
    decided = [o for o in (transfer, ask) if isinstance(o, EarlyWarning)]
    refused = [o for o in (transfer, ask) if isinstance(o, DomainError)]
    assert len(decided) == 1 and len(refused) == 1
    warning.refresh_from_db()
    assert warning.status == decided[0].status
    # the loser either found the case transferred away (403) or no longer in a state it could move from (409)
    assert refused[0].code in ("forbidden", "invalid_transition")
    assert WarningEvent.objects.filter(warning=warning).count() == 1
