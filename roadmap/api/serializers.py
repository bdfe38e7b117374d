"""What the roadmap endpoints send and accept. Reads are plain; writes only shape input:
the rules (roles, access, one active claim) stay in roadmap.services.claims."""

from __future__ import annotations

from rest_framework import serializers

from roadmap.models import ActivityEvent, Area, Claim, RoadmapItem, Stakeholder


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Area
        fields = ["slug", "title", "theme", "position", "notes"]


class ItemClaimSerializer(serializers.ModelSerializer):
    """An active claim as seen from its item."""

    stakeholder = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Claim
        fields = ["id", "stakeholder", "role", "created_at"]


class StakeholderClaimSerializer(serializers.ModelSerializer):
    """An active claim as seen from its stakeholder."""

    item = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Claim
        fields = ["id", "item", "role", "created_at"]


class ItemSerializer(serializers.ModelSerializer):
    area = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    claims = ItemClaimSerializer(
        source="active_claims", many=True, read_only=True, help_text="Active claims only."
    )

    class Meta:
        model = RoadmapItem
        fields = [
            "slug",
            "title",
            "area",
            "parent",
            "position",
            "status",
            "landed_in",
            "description",
            "notes",
            "claims",
            "created_at",
            "updated_at",
        ]


class StakeholderSerializer(serializers.ModelSerializer):
    claims = StakeholderClaimSerializer(
        source="active_claims", many=True, read_only=True, help_text="Active claims only."
    )

    class Meta:
        model = Stakeholder
        fields = ["slug", "name", "kind", "contact", "contact_uncertain", "state", "claims"]


class ClaimSerializer(serializers.ModelSerializer):
    item = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    stakeholder = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    released_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "item",
            "stakeholder",
            "role",
            "note",
            "active",
            "created_by",
            "created_at",
            "released_by",
            "released_at",
        ]


class ClaimCreateSerializer(serializers.Serializer):
    """Input only; the role is checked by the claims service (one list of roles)."""

    item = serializers.SlugRelatedField(slug_field="slug", queryset=RoadmapItem.objects.all())
    stakeholder = serializers.SlugRelatedField(
        slug_field="slug", queryset=Stakeholder.objects.all()
    )
    role = serializers.CharField(max_length=16, help_text="lead, contributor, reviewer, interested")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ClaimRoleSerializer(serializers.Serializer):
    role = serializers.CharField(max_length=16, help_text="lead, contributor, reviewer, interested")


class ActivitySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    item = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    stakeholder = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = ActivityEvent
        fields = ["id", "at", "actor", "verb", "item", "stakeholder", "data"]
