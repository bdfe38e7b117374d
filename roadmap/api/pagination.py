"""Pagination: numbered pages for the small lists, a cursor for the result history."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursor(CursorPagination):
    """Stable under inserts: ids grow with arrival, so "-id" is newest first and unique."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
