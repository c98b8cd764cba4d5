"""Portal pages shared by every role: the home page and job progress."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import DomainError, NotFound
from .jobs import job_retry, job_retryable
from .selectors import job_get

# Apps' home-page panels; each template decides for itself whether it applies to the user.
HOME_PANELS = ["compliance/_home_panel.html"]


@login_required
def home(request):
    """Each role's home page, with the apps' panels that apply to the user."""
    from entities.selectors import entities_visible_to

    user = request.user
    context = {
        "entity": user.entity if user.acting_entity_id else None,
        "entity_count": entities_visible_to(user).count() if user.is_regulator else None,
        "panels": HOME_PANELS,
    }
    return render(request, "home.html", context)


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
