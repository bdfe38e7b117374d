"""Template helpers for the roadmap pages."""

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: Any) -> Any:
    """``{{ row.cells|get_item:kernel.pk }}``: a dict lookup by a variable key."""
    return mapping.get(key) if mapping else None
