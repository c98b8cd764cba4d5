"""Jobs: handler registry, progress, a recorded failure, an idempotent rerun, and who may watch."""

import pytest
from django.db import transaction

from cets.common.audit import audit_record
from cets.common.errors import DomainError
from cets.common.jobs import _HANDLERS, job_create, job_handler, job_progress, job_run
from cets.common.models import AuditEntry, Job
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

FAIL_AT: dict[str, int | None] = {"item": None}


@job_handler("test.count")
def count_items(job: Job) -> dict:
    """Writes one audited row per item, a chunk per transaction, skipping what a previous run wrote."""
    written = 0
    for item in range(job.total):
        if AuditEntry.objects.filter(action="test.item", object_id=str(item), object_type=f"job{job.pk}").exists():
            continue
        if FAIL_AT["item"] == item:
            raise DomainError(f"item {item} could not be processed", "item_failed", "item")
        with transaction.atomic():
            audit_record(actor=job.created_by, action="test.item", object_type=f"job{job.pk}", object_id=item)
        written += 1
        job_progress(job, done=item + 1)
    return {"written": written}


@pytest.fixture(autouse=True)
def _reset_failure():
    FAIL_AT["item"] = None
    yield
    FAIL_AT["item"] = None


def test_unknown_kind_is_refused(entity_user):
    with pytest.raises(DomainError) as exc:
        job_create(kind="no.such.kind", user=entity_user)
    assert exc.value.field == "kind"
    assert Job.objects.count() == 0


def test_handler_is_registered_and_runs_after_commit(entity_user, django_capture_on_commit_callbacks):
    assert _HANDLERS["test.count"] is count_items
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind="test.count", user=entity_user, total=5)
        assert Job.objects.get(pk=job.pk).status == Job.Status.PENDING
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.percent, job.result) == ("succeeded", 5, 5, 100, {"written": 5})
    assert job.started_at <= job.finished_at


def test_progress_updates_done_total_and_message(entity_user):
    job = job_create(kind="test.count", user=entity_user, total=8, enqueue=False)
    job_progress(job, advance=2, message="chunk 1")
    job_progress(job, advance=4)
    job_progress(job, total=10)
    job.refresh_from_db()
    assert (job.done, job.total, job.percent, job.message) == (6, 10, 60, "chunk 1")


def test_failure_is_recorded_and_rerun_finishes_without_doubling(entity_user):
    job = job_create(kind="test.count", user=entity_user, total=5, enqueue=False)
    FAIL_AT["item"] = 3
    job = job_run(job.pk)
    assert (job.status, job.done, job.message) == ("failed", 3, "item 3 could not be processed")
    assert AuditEntry.objects.filter(action="test.item").count() == 3

    FAIL_AT["item"] = None
    job = job_run(job.pk)
    assert (job.status, job.done, job.result) == ("succeeded", 5, {"written": 2})
    assert sorted(AuditEntry.objects.filter(action="test.item").values_list("object_id", flat=True)) == [
        "0", "1", "2", "3", "4"]
    # Running a finished job again does nothing.
    assert job_run(job.pk).result == {"written": 2}
    assert AuditEntry.objects.filter(action="test.item").count() == 5


def test_unexpected_error_is_recorded_and_raised(entity_user):
    @job_handler("test.crash")
    def crash(job):
        raise ValueError("disk on fire")

    job = job_create(kind="test.crash", user=entity_user, enqueue=False)
    with pytest.raises(ValueError):
        job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.message) == ("failed", "disk on fire")
    del _HANDLERS["test.crash"]


@pytest.fixture
def half_done(entity_user):
    job = job_create(kind="test.count", user=entity_user, total=8, enqueue=False)
    job_progress(job, done=3, message="working")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    return job


def test_portal_page_and_htmx_fragment_show_percent(client, entity_user, half_done):
    client.force_login(entity_user)
    page = client.get(f"/jobs/{half_done.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<progress max="100" value="37"' in html and "37%" in html and "3 / 8" in html
    assert f'hx-get="/jobs/{half_done.pk}/progress/"' in html
    fragment = client.get(f"/jobs/{half_done.pk}/progress/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "37%" in body and "<html" not in body


def test_finished_job_stops_polling(client, entity_user):
    job = job_create(kind="test.count", user=entity_user, total=2, enqueue=False)
    job_run(job.pk)
    client.force_login(entity_user)
    body = client.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert "100%" in body and "hx-get" not in body


def test_other_user_gets_404(client, other_entity_user, hubei, half_done):
    client.force_login(other_entity_user)
    assert client.get(f"/jobs/{half_done.pk}/").status_code == 404
    assert client.get(f"/jobs/{half_done.pk}/progress/").status_code == 404
    otp_login(client, hubei)
    assert client.get(f"/jobs/{half_done.pk}/").status_code == 404


def test_anonymous_is_sent_to_login(client, half_done):
    response = client.get(f"/jobs/{half_done.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_api_job_detail(api, entity_user, other_entity_user, national, half_done):
    body = api(entity_user).get(f"/api/v1/jobs/{half_done.pk}/").json()
    assert {k: body[k] for k in ("id", "kind", "status", "done", "total", "percent", "message")} == {
        "id": half_done.pk, "kind": "test.count", "status": "running", "done": 3, "total": 8, "percent": 37,
        "message": "working"}
    assert api(national).get(f"/api/v1/jobs/{half_done.pk}/").json()["percent"] == 37
    refused = api(other_entity_user).get(f"/api/v1/jobs/{half_done.pk}/")
    assert refused.status_code == 404
    assert refused.json() == {"error": {"code": "not_found", "message": "No such job.", "field": "job"}}
    assert api().get(f"/api/v1/jobs/{half_done.pk}/").status_code in (401, 403)


def test_broker_down_leaves_the_job_pending_for_the_sweeper(entity_user, django_capture_on_commit_callbacks,
                                                             monkeypatch):
    """The caller's work is committed before the message is sent: a dead broker must not turn it into a 500."""
    from kombu.exceptions import OperationalError

    from cets.common import tasks

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.job_run_task, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind="test.count", user=entity_user, total=3)
    job.refresh_from_db()
    assert (job.status, job.done, job.attempts) == ("pending", 0, 0)
    assert "sent again automatically" in job.message
