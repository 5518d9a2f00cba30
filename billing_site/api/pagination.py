from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable pages for syncing: ordered by id, so new rows never shift earlier pages."""

    ordering = "pk"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
