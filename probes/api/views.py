"""Probe endpoints: the catalogue, hosts, kernels, runs (maintainers start and cancel
them through ``probes.services.runs``), results, and a host's offline import."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from probes.models import Host, Kernel, Probe, ProbeResult, ProbeRun, RunTrigger
from probes.services import ingest, runs
from roadmap.api.pagination import NewestFirstCursor
from roadmap.api.permissions import Maintainer, ReadOpenWriteAuthenticated
from roadmap.api.throttles import ImportRateThrottle

from . import filters, serializers

# Probe ids have dots (ns.pid.isolation), kernel releases dots and more (6.1.0-13+b1).
PATH_SEGMENT = r"[^/]+"


class ProbeViewSet(viewsets.ReadOnlyModelViewSet):
    """The probe catalogue, in catalogue order, with links to the roadmap."""

    serializer_class = serializers.ProbeSerializer
    lookup_value_regex = PATH_SEGMENT

    def get_queryset(self) -> QuerySet[Probe]:
        return Probe.objects.select_related("area", "item")


class HostViewSet(viewsets.ReadOnlyModelViewSet):
    """Enrolled hosts: state, kernel and last heartbeat (never the secret)."""

    serializer_class = serializers.HostSerializer
    lookup_field = "name"

    def get_queryset(self) -> QuerySet[Host]:
        return Host.objects.select_related("kernel")


class KernelViewSet(viewsets.ReadOnlyModelViewSet):
    """Kernels seen on hosts, oldest version first."""

    queryset = Kernel.objects.all()
    serializer_class = serializers.KernelSerializer
    lookup_field = "release"
    lookup_value_regex = PATH_SEGMENT


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Probe runs, newest first; maintainers start and cancel them."""

    serializer_class = serializers.RunSerializer
    filterset_class = filters.RunFilter
    permission_classes = [ReadOpenWriteAuthenticated, Maintainer]

    def get_queryset(self) -> QuerySet[ProbeRun]:
        return ProbeRun.objects.select_related("host", "kernel", "requested_by")

    @extend_schema(
        request=serializers.RunCreateSerializer, responses={201: serializers.RunSerializer}
    )
    def create(self, request: Request) -> Response:
        given = serializers.RunCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        run = runs.run_dispatch(
            given.validated_data["host"],
            only=given.validated_data["only"],
            intrusive=given.validated_data["intrusive"],
            trigger=RunTrigger.API,
            user=request.user,
        )
        return Response(serializers.RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: serializers.RunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = runs.run_cancel(self.get_object(), user=request.user)
        return Response(serializers.RunSerializer(run).data)


class ResultViewSet(viewsets.ReadOnlyModelViewSet):
    """Recorded probe results, newest first, by cursor."""

    serializer_class = serializers.ResultSerializer
    filterset_class = filters.ResultFilter
    pagination_class = NewestFirstCursor

    def get_queryset(self) -> QuerySet[ProbeResult]:
        return ProbeResult.objects.select_related("host", "kernel")


class ImportView(APIView):
    """A host's offline results file, signed with its secret: the signature is the
    authentication, so no user is involved (and no cookie or token is looked at)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ImportRateThrottle]

    @extend_schema(
        request=serializers.ImportEnvelopeSerializer,
        responses={200: serializers.RunSerializer, 201: serializers.RunSerializer},
        auth=[],
        description="201 with the new run; 200 with the existing run when the same file "
        "was imported before (nothing is added).",
    )
    def post(self, request: Request) -> Response:
        run, created = ingest.results_import(request.data)
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(serializers.RunSerializer(run).data, status=answer)
