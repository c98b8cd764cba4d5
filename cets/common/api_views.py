from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Job
from .selectors import job_get


class JobOutput(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Job
        fields = ["id", "kind", "status", "done", "total", "percent", "message", "result", "created_at",
                  "started_at", "finished_at"]


class JobDetailView(APIView):
    """Poll a long-running job's progress."""

    @extend_schema(responses=JobOutput)
    def get(self, request, pk: int):
        return Response(JobOutput(job_get(user=request.user, pk=pk)).data)
