"""The notification inbox: created from the services' events, one user's inbox never shows another's."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from cets.common.models import Notification
from entities.models import User
from mrv.deadlines import reminders_send
from mrv.models import MonthlySubmission
from mrv.reviews import information_request, submission_review
from registry import services as registry
from tests import factories as f

pytestmark = pytest.mark.django_db


def _in_review(entity, user):
    return MonthlySubmission.objects.create(
        entity=entity, unit=entity.units.first(), year=2025, month=3, emissions_tco2=Decimal("10"),
        deadline=dt.date(2025, 5, 10), on_time=True, submitted_by=user, submitted_at=timezone.now(),
        status=MonthlySubmission.Status.PROVINCIAL_REVIEW, review_due=dt.date(2025, 5, 20))


def test_request_and_decision_reach_the_entity_users_only(entity, entity_user, other_entity_user, hubei,
                                                         django_capture_on_commit_callbacks):
    entity_user.email, entity_user.preferred_language = "carbon@example.cn", "en"  # emails in the reader's language
    entity_user.save()
    sub = _in_review(entity, entity_user)
    with django_capture_on_commit_callbacks(execute=True):
        information_request(actor=hubei, submission=sub, question="Invoices?")
        submission_review(actor=hubei, submission=sub, accept=False, comment="Fuel figure wrong")
    rows = list(Notification.objects.order_by("id"))
    assert [(n.user_id, n.kind, n.text, n.url) for n in rows] == [
        (entity_user.pk, "request", "HB-WH-01 2025-03: the reviewer asks for information.",
         f"/mrv/submissions/{sub.pk}/"),
        (entity_user.pk, "decision", "HB-WH-01 2025-03: returned at the Provincial review; correct and resubmit.",
         f"/mrv/submissions/{sub.pk}/")]
    assert [m.to for m in mail.outbox] == [["carbon@example.cn"], ["carbon@example.cn"]]
    assert "returned at the Provincial review" in mail.outbox[1].body


def test_inbox_shows_own_notifications_and_marks_only_own_read(client, entity, entity_user, other_entity_user,
                                                               hubei):
    information_request(actor=hubei, submission=_in_review(entity, entity_user), question="Invoices?")
    mine = Notification.objects.get(user=entity_user)
    client.force_login(other_entity_user)
    page = client.get("/notifications/").content.decode()
    assert "asks for information" not in page and 'data-testid="unread-count"' not in page
    client.post("/notifications/read/", {"id": mine.pk})  # someone else's id: nothing changes
    mine.refresh_from_db()
    assert mine.read_at is None
    assert client.post("/notifications/read/", {"id": "x"}).status_code == 400

    client.force_login(entity_user)
    page = client.get("/notifications/").content.decode()
    assert "asks for information" in page and 'data-testid="unread-count">1<' in page
    response = client.post("/notifications/read/", {"id": mine.pk, "next": mine.url})
    assert response.status_code == 302 and response["Location"] == mine.url
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'data-testid="unread-count"' not in client.get("/notifications/").content.decode()


def test_daily_reminders_notify_in_bulk(entity, entity_user, other_entity, other_entity_user, hubei,
                                        django_assert_max_num_queries):
    # 2025-04-02: March's data are due on May 10 ... the 7-day reminder falls on 2025-05-03.
    with django_assert_max_num_queries(16):
        created = reminders_send(today=dt.date(2025, 5, 3))
    assert created == 3  # three operating units without March data
    notes = {n.user_id: n for n in Notification.objects.all()}
    assert set(notes) == {entity_user.pk, other_entity_user.pk}
    assert notes[entity_user.pk].text == "Monthly emission data due by 2025-05-10 (2 unit-months missing)."
    assert notes[other_entity_user.pk].params == {"due": "2025-05-10", "count": 1}
    assert reminders_send(today=dt.date(2025, 5, 3)) == 0 and Notification.objects.count() == 2  # rerun: nothing


def test_four_eyes_proposal_asks_the_other_regulators_and_the_decision_reaches_the_proposer(national, hubei):
    second = f.regulator(User.Role.NATIONAL_REGULATOR, username="mee-two")
    instrument = registry.instrument_get_or_create_cea(vintage=2024)
    tx = registry.issuance_propose(actor=national, instrument=instrument, quantity=1000,
                                   deliver_to=registry.national_account(kind="national_allocation"))
    approval = Notification.objects.get(kind="approval")
    assert approval.user_id == second.pk and f"#{tx.pk}" in approval.text and "1000 t" in approval.text
    assert not Notification.objects.filter(user=national).exists()
    assert not Notification.objects.filter(user=hubei).exists()  # issuance: the nation approves
    registry.transaction_approve(actor=second, transaction=tx)
    decision = Notification.objects.get(kind="decision")
    assert decision.user_id == national.pk and "was approved" in decision.text
