"""Inline rows edited on their parent's page (tiers, time-of-use windows, promotion codes)."""

from __future__ import annotations

from django.contrib import admin

from catalog.admin.base import ReadableFieldsMixin, ServiceInlineFormSet, ServiceRowForm


class EditableInline(ReadableFieldsMixin, admin.TabularInline):
    """Rows saved by the parent's service call; frozen with the parent (``parent.is_editable``).

    ``intro`` is shown above the table together with every column's help text, so that the help
    is on the page and not only in a tooltip.
    """

    form = ServiceRowForm
    formset = ServiceInlineFormSet
    extra = 0
    template = "admin/catalog/edit_inline/tabular_with_help.html"
    intro = ""

    def is_read_only(self, request, obj=None) -> bool:
        return not self.has_change_permission(request, obj)

    @staticmethod
    def _parent_editable(obj) -> bool:
        return obj is None or getattr(obj, "is_editable", True)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_editable(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_editable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_editable(obj)
