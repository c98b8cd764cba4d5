from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .jobs import job_retry
from .models import Job
from .selectors import job_get


class JobOutput(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Job
        fields = ["id", "kind", "status", "done", "total", "percent", "message", "error", "attempts", "max_attempts",
                  "heartbeat_at", "result", "created_at", "started_at", "finished_at"]


class JobDetailView(APIView):
    """Poll a long-running job's progress."""

    @extend_schema(responses=JobOutput)
    def get(self, request, pk: int):
        return Response(JobOutput(job_get(user=request.user, pk=pk)).data)


class JobRetryView(APIView):
    """Ask again for a job whose worker stopped responding, or that failed: it is re-queued at once (409
    for a job that is alive, finished, or whose failure undid what it started)."""

    @extend_schema(request=None, responses=JobOutput)
    def post(self, request, pk: int):
        job = job_retry(actor=request.user, job=job_get(user=request.user, pk=pk))
        return Response(JobOutput(job).data)
