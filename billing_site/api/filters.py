"""Filters every list endpoint uses: strict booleans and ids (bad values are a 400, never ignored)."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0): django-filter's default quietly ignores "maybe" and returns everything."""

    widget = forms.TextInput

    def to_python(self, value):
        text = "" if value is None else str(value).strip().lower()
        if not text:
            return None
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise ValidationError("Use true or false.", code="invalid")

    def validate(self, value):
        pass


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class IdFilter(filters.NumberFilter):
    """An object id: a whole number within the id column's range (a huge one is a 400, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)
