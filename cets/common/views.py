"""Portal pages shared by every role: the notification inbox, job progress and the error pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.http import require_POST

from .errors import DomainError, NotFound
from .jobs import job_retry, job_retryable
from .notifications import notifications_for, notifications_mark_read
from .selectors import job_get


@login_required
def notifications(request):
    """The user's inbox, newest first, 30 a page."""
    page = Paginator(notifications_for(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request):
    """Mark one notification read (``id``) or all of them, then follow its link or go back to the inbox."""
    raw = request.POST.get("id", "")
    if raw and not raw.isdigit():
        return HttpResponseBadRequest(_("id: a notification number."))
    notifications_mark_read(user=request.user, ids=[int(raw)] if raw else None)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications")


def _job_or_404(request, pk):
    try:
        return job_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404


def _job_context(request, pk) -> dict:
    job = _job_or_404(request, pk)
    return {"job": job, "retryable": job_retryable(job)}


@login_required
def job_detail(request, pk: int):
    return render(request, "jobs/detail.html", _job_context(request, pk))


@login_required
def job_progress_fragment(request, pk: int):
    """The progress bar alone; htmx polls it every second until the job ends."""
    return render(request, "jobs/_progress.html", _job_context(request, pk))


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "field": None}}, status=status)


def api_getting_started(request):
    """/api/docs/: how to get a token, send an Idempotency-Key, read errors and page through lists; the
    interactive reference is one click further."""
    return render(request, "api/getting_started.html", {"page_size": settings.REST_FRAMEWORK["PAGE_SIZE"]})


def api_not_found(request, *args, **kwargs):
    """Any path under /api/ that no route matches, whatever DEBUG says: the API's JSON 404, not a page."""
    if not request.path.endswith("/") and resolve(request.path + "/").func is not api_not_found:
        return _api_error("not_found", _("Not found: API addresses end with a slash, e.g. %(path)s")
                          % {"path": request.path + "/"}, 404)
    return _api_error("not_found", _("Not found."), 404)


def page_not_found(request, exception=None):
    """handler404: a path under /api/ that no route matches (an unknown resource, a malformed id)
    answers the API's one error shape; the portal keeps Django's page."""
    if request.path.startswith("/api/"):
        return _api_error("not_found", _("Not found."), 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: an API client reads JSON even when the server fails (no traceback, no HTML)."""
    if request.path.startswith("/api/"):
        return _api_error("server_error", _("A server error occurred."), 500)
    return defaults.server_error(request)


@login_required
@require_POST
def job_retry_view(request, pk: int):
    """Ask again for a job whose worker stopped responding (or that failed): it is re-queued at once."""
    job = _job_or_404(request, pk)
    try:
        job_retry(actor=request.user, job=job)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Job #%(id)s was sent to a worker again.") % {"id": job.pk})
    return redirect("job-detail", pk=job.pk)
