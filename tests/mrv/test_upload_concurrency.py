"""An upload's confirmation races a regulator's review of the same month (PostgreSQL row locks).

Whichever commits first wins; the other is refused with a clear error and changes nothing: a confirm that
lost sees the month's new state and refuses ``changed_since_preview``; a review that lost finds the month
superseded and refuses ``not_in_review``. Never both, never a review recorded on replaced data.
"""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from cets.common.errors import DomainError
from mrv import reviews, services, uploads
from mrv.models import MonthlySubmission, SubmissionReview, SubmissionUpload

from .conftest import month_row
from .test_uploads import filled, template_bytes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*work) -> list:
    barrier = threading.Barrier(len(work))

    def one(fn):
        try:
            barrier.wait()
            return fn()
        except DomainError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(one, work))


def test_upload_confirm_racing_a_review_of_the_same_month(entity_user, entity, unit, wuhan):
    months = range(1, 7)
    for month in months:
        services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=month, year=2024)],
                                       today=dt.date(2024, month + 1, 1))
    outcomes = set()
    for month in months:  # several rounds, so both orders are likely to occur
        staged = uploads.upload_preview(actor=entity_user, filename="data.xlsx", content=filled(
            template_bytes(entity), {("HB-WH-01", month): {"consumption": "1200"}}))
        sub = MonthlySubmission.objects.get(unit=unit, year=2024, month=month)
        confirm, review = race(lambda s=staged: uploads.upload_confirm(actor=entity_user, upload=s),
                               lambda s=sub: reviews.submission_review(actor=wuhan, submission=s, accept=True))
        current = MonthlySubmission.objects.get(unit=unit, year=2024, month=month, is_current=True)
        staged.refresh_from_db()
        if isinstance(confirm, SubmissionUpload):
            assert isinstance(review, DomainError) and review.code == "not_in_review"
            assert (current.version, current.status, staged.status) == (2, "municipal_review", "confirmed")
            assert current.fuels.get().consumption == 1200
            assert not SubmissionReview.objects.filter(submission__unit=unit, submission__month=month).exists()
            outcomes.add("upload first")
        else:
            assert isinstance(confirm, DomainError) and confirm.code == "changed_since_preview"
            assert isinstance(review, MonthlySubmission)
            assert (current.version, current.status, staged.status) == (1, "provincial_review", "stale")
            assert current.fuels.get().consumption == 1000
            outcomes.add("review first")
        assert MonthlySubmission.objects.filter(unit=unit, year=2024, month=month).count() == current.version
    assert outcomes  # which orders occurred is up to the scheduler; each was checked above


def _held(work, release: threading.Event, holding: threading.Event):
    """Run ``work`` in a transaction kept open (its row locks held) until ``release`` is set."""
    from django.db import transaction

    try:
        with transaction.atomic():
            result = work()
            holding.set()
            release.wait(10)
        return result
    except DomainError as exc:
        holding.set()
        return exc
    finally:
        connection.close()


def _waiting(work):
    try:
        return work()
    except DomainError as exc:
        return exc
    finally:
        connection.close()


@pytest.mark.parametrize("first", ["upload", "review"])
def test_the_second_waits_for_the_first_lock_then_is_refused(first, entity_user, entity, unit, wuhan):
    """Deterministic orders: the first holds its row locks uncommitted while the second starts and waits."""
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=3, year=2024)],
                                   today=dt.date(2024, 4, 1))
    staged = uploads.upload_preview(actor=entity_user, filename="data.xlsx", content=filled(
        template_bytes(entity), {("HB-WH-01", 3): {"consumption": "1200"}}))
    sub = MonthlySubmission.objects.get(unit=unit, year=2024, month=3)
    confirm = lambda: uploads.upload_confirm(actor=entity_user, upload=staged)  # noqa: E731
    review = lambda: reviews.submission_review(actor=wuhan, submission=sub, accept=True)  # noqa: E731
    release, holding = threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(_held, confirm if first == "upload" else review, release, holding)
        assert holding.wait(10)
        two = pool.submit(_waiting, review if first == "upload" else confirm)
        assert not two.done()  # blocked on the first one's row lock
        release.set()
        first_result, second_result = one.result(), two.result()
    assert not isinstance(first_result, DomainError)
    assert isinstance(second_result, DomainError)
    current = MonthlySubmission.objects.get(unit=unit, year=2024, month=3, is_current=True)
    staged.refresh_from_db()
    if first == "upload":
        assert second_result.code == "not_in_review"
        assert (current.version, current.status, staged.status) == (2, "municipal_review", "confirmed")
        assert not SubmissionReview.objects.exists()
    else:
        assert second_result.code == "changed_since_preview"
        assert (current.version, current.status, staged.status) == (1, "provincial_review", "stale")
        assert current.fuels.get().consumption == 1000
