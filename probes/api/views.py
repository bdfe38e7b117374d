"""Probe endpoints: the catalogue, hosts, kernels, runs (maintainers start and cancel
them through ``probes.services.runs``), results, a host's offline import, and the read
side of ``probes.selectors``: the feature matrix, its regressions and kernel comparisons."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from probes import selectors
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

    @extend_schema(
        parameters=[serializers.CompareQuerySerializer],
        responses={200: serializers.ComparisonSerializer},
        description="What changed from kernel `old` to kernel `new`; 404 when either "
        "release is unknown.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def compare(self, request: Request) -> Response:
        given = _query(serializers.CompareQuerySerializer, request)
        old, new = given.validated_data["old"], given.validated_data["new"]
        found = {k.release: k for k in Kernel.objects.filter(release__in=[old, new])}
        for release in (old, new):
            if release not in found:
                raise NotFound(f"No kernel {release!r}.")
        comparison = selectors.kernels_compare(found[old], found[new])
        return Response(serializers.comparison_json(comparison))


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


Query = TypeVar("Query", bound=Serializer)


def _query(serializer_class: type[Query], request: Request) -> Query:
    """The validated query string (a 400 with field errors when it is bad)."""
    given = serializer_class(data=request.query_params)
    given.is_valid(raise_exception=True)
    return given


class MatrixView(APIView):
    """Probes x kernels: per cell the status over every host that ran it there (partial when
    they disagree), since and regressions per probe; the same data as the matrix page."""

    @extend_schema(
        parameters=[serializers.MatrixQuerySerializer],
        responses={200: serializers.MatrixSerializer},
    )
    def get(self, request: Request) -> Response:
        given = _query(serializers.MatrixQuerySerializer, request)
        matrix = selectors.feature_matrix(**given.selector_kwargs())
        return Response(serializers.matrix_json(matrix))


class RegressionView(APIView):
    """Every (probe, kernel) cell marked regressed in the matrix, with the last kernel where
    the probe passed before it."""

    @extend_schema(
        parameters=[serializers.RegressionQuerySerializer],
        responses={200: serializers.RegressionListSerializer},
    )
    def get(self, request: Request) -> Response:
        given = _query(serializers.RegressionQuerySerializer, request)
        # ``status`` picks regressed cells here, not matrix rows: keep it from the selector.
        kwargs = given.selector_kwargs()
        status_wanted = kwargs.pop("status")
        matrix = selectors.feature_matrix(**kwargs)
        return Response(serializers.regressions_json(matrix, status_wanted))
