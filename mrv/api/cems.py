"""CEMS API (``/api/v1/mrv/cems/``): monitoring points, hourly data (JSON, CSV body or file), monthly figures."""

from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import validated
from cets.common.errors import DomainError
from cets.common.parsers import JSONParser
from cets.common.viewsets import ScopedReadViewSet
from entities.selectors import unit_get

from .. import cems
from ..cems_models import MonitoringPoint

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class CsvParser(parsers.BaseParser):
    """A ``text/csv`` body, handed to the view as bytes."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


class PointOutput(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)

    class Meta:
        model = MonitoringPoint
        fields = ["id", "entity", "unit", "unit_code", "code", "device", "certified_on", "commissioned_on", "status",
                  "review_comment", "created_at"]


class PointInput(serializers.Serializer):
    unit = serializers.IntegerField()
    code = serializers.CharField(max_length=40)
    device = serializers.CharField(max_length=200)
    certified_on = serializers.DateField()
    commissioned_on = serializers.DateField()


class ReviewInput(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class HoursInput(serializers.Serializer):
    rows = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=500_000)


class PeriodInput(serializers.Serializer):
    year = serializers.IntegerField(min_value=2013, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12)


class PointViewSet(ScopedReadViewSet):
    """Monitoring points: the entity proposes (POST), its province approves (``review``); another
    organisation's point is a 404."""

    serializer_class = PointOutput
    filterset_fields = ["entity", "unit", "status"]

    def scoped_queryset(self, user):
        return cems.points_visible_to(user)

    @extend_schema(request=PointInput, responses={201: PointOutput})
    def create(self, request):
        data = validated(PointInput, request)
        unit = unit_get(user=request.user, pk=data.pop("unit"))
        point = cems.point_propose(actor=request.user, unit=unit, **data)
        return Response(PointOutput(point).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReviewInput, responses={200: PointOutput})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        data = validated(ReviewInput, request)
        return Response(PointOutput(cems.point_review(actor=request.user, point=self.get_object(), **data)).data)

    @extend_schema(request={"application/json": HoursInput, "text/csv": bytes, "multipart/form-data": bytes},
                   responses={200: dict})
    @action(detail=False, methods=["post"], parser_classes=[JSONParser, CsvParser, parsers.MultiPartParser])
    def hours(self, request):
        """Hourly data of the entity's points: ``{"rows": [...]}``, a ``text/csv`` body or a ``file`` upload
        (CSV header ``point,hour,co2_pct,flow_nm3h,temp_c,pressure_kpa,moisture_pct,o2_pct,status``)."""
        if isinstance(request.data, bytes):
            rows = cems.hours_from_csv(request.data)
        elif "file" in request.FILES:
            upload = request.FILES["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                raise DomainError("The file is too large.", "too_large", "file")
            rows = cems.hours_from_csv(upload.read())
        else:
            rows = validated(HoursInput, request)["rows"]
        return Response(cems.hours_ingest(actor=request.user, rows=rows))

    @extend_schema(parameters=[PeriodInput], responses={200: dict})
    @action(detail=True, methods=["get"])
    def month(self, request, pk=None):
        """The point's month: tonnes (substitutes included), substituted hours, completeness, daily totals."""
        return Response(cems.point_month(self.get_object(), **_period(request)))


def _period(request) -> dict:
    serializer = PeriodInput(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FacilityMonthView(APIView):
    """A facility's month: CEMS total of its approved points beside its accounting, with the deviation."""

    @extend_schema(parameters=[PeriodInput], responses={200: dict})
    def get(self, request, unit_id: int):
        unit = unit_get(user=request.user, pk=unit_id)
        return Response(cems.facility_month(unit, **_period(request)))
