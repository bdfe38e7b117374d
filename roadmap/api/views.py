"""Roadmap endpoints: areas, items, stakeholders, claims, activity.

Views validate input, let ``roadmap.services.claims`` decide (it asks
``roadmap.access``), and serialize. Every list runs a fixed number of queries:
the joins are named here, once per list.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from roadmap import selectors
from roadmap.models import ActivityEvent, Area, Claim, RoadmapItem, Stakeholder
from roadmap.services import claims

from . import filters, serializers
from .pagination import NewestFirstCursor


class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    """The roadmap's areas (the 2007 mail's five groups)."""

    queryset = Area.objects.order_by("position")
    serializer_class = serializers.AreaSerializer
    lookup_field = "slug"


class ItemViewSet(viewsets.ReadOnlyModelViewSet):
    """Roadmap items with their active claims, in roadmap order."""

    serializer_class = serializers.ItemSerializer
    filterset_class = filters.ItemFilter
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[RoadmapItem]:
        return RoadmapItem.objects.select_related("area", "parent").prefetch_related(
            Prefetch("claims", queryset=selectors.active_claims(), to_attr="active_claims")
        )


class StakeholderViewSet(viewsets.ReadOnlyModelViewSet):
    """Stakeholders with the items they actively claim."""

    serializer_class = serializers.StakeholderSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Stakeholder]:
        active = selectors.active_claims().select_related("item")
        return Stakeholder.objects.prefetch_related(
            Prefetch("claims", queryset=active, to_attr="active_claims")
        )


class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Claims: list and read them; claim, change the role and release through the service."""

    serializer_class = serializers.ClaimSerializer
    filterset_class = filters.ClaimFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Claim]:
        return Claim.objects.select_related("item", "stakeholder", "created_by", "released_by")

    @extend_schema(
        request=serializers.ClaimCreateSerializer, responses={201: serializers.ClaimSerializer}
    )
    def create(self, request: Request) -> Response:
        given = serializers.ClaimCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        claim = claims.claim_create(request.user, **given.validated_data)
        return Response(serializers.ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.ClaimRoleSerializer, responses={200: serializers.ClaimSerializer}
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        given = serializers.ClaimRoleSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        claim = claims.claim_change_role(request.user, claim, given.validated_data["role"])
        return Response(serializers.ClaimSerializer(claim).data)

    @extend_schema(request=None, responses={200: serializers.ClaimSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        claim = claims.claim_release(request.user, self.get_object())
        return Response(serializers.ClaimSerializer(claim).data)


class ActivityViewSet(viewsets.ReadOnlyModelViewSet):
    """The activity log, newest first."""

    serializer_class = serializers.ActivitySerializer
    filterset_class = filters.ActivityFilter
    pagination_class = NewestFirstCursor

    def get_queryset(self) -> QuerySet[ActivityEvent]:
        return ActivityEvent.objects.select_related("actor", "item", "stakeholder")
