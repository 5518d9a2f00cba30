"""The catalog admin as a skin over the catalog services.

Nothing in the admin writes a model: ``ModelForm.save``, ``formset.save`` and ``save_m2m`` are never
called. An admin class says, in ``service_save``, which service call its form and inlines amount to;
that call is made

* once while the form is validated, inside a transaction that is rolled back (a dry run), so that
  every rule of the service, including those that only apply to changes, decides whether the form is
  valid; a ``DomainError`` is shown on the field it names, or at the top of the form;
* once more in ``save_related``, after Django has validated the form and every inline, to save for
  real, with the staff user as actor and the clock's ``now``.

The form and its inline formsets are validated together because a price is only valid with its
tiers: the form, the inlines and the request meet in an ``EditSession`` kept on the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import construct_change_message, flatten_fieldsets
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.forms.models import BaseInlineFormSet, InlineForeignKeyField, construct_instance
from django.http import HttpRequest, HttpResponseRedirect

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError

SESSION_ATTR = "_catalog_admin_edit_session"


def staff_actor(request: HttpRequest) -> Actor:
    return Actor.staff(request.user)


def now():
    return clock.now()


# --- numbers people can read ---------------------------------------------------------------


def plain_number(value: Decimal, min_places: int = 0) -> str:
    """7.000000000000 -> "7.00" (amounts) or "7" (quantities); 0.000125 keeps its digits."""
    if not value.is_finite():
        return str(value)
    normalized = Decimal(0) if value.is_zero() else value.normalize()
    exponent = normalized.as_tuple().exponent
    places = max(min_places, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return f"{normalized:.{places}f}"


def is_amount_field(db_field: models.Field) -> bool:
    return "amount" in db_field.name


class DecimalInput(forms.TextInput):
    """A text box for decimals that shows stored values without 12 trailing zeros."""

    def __init__(self, attrs: dict[str, Any] | None = None, *, min_places: int = 0):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})
        self.min_places = min_places

    def format_value(self, value):
        if isinstance(value, Decimal):
            return plain_number(value, self.min_places)
        return super().format_value(value)


class ReadableFieldsMixin:
    """Shared by model admins and inlines: readable decimals and help texts for every field.

    On a read-only page Django would print a stored 7.00 as "7.000000000000"; there, decimal
    fields are swapped for ``<name>_shown`` displays. Admin classes declare ``fields`` or
    ``fieldsets`` (Django would otherwise build a form to find them, which recurses here).
    """

    #: Help for model fields that have none of their own, shown under the field.
    help_texts: dict[str, Any] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for db_field in self.model._meta.concrete_fields:
            if isinstance(db_field, models.DecimalField):
                setattr(self, f"{db_field.name}_shown", _decimal_display(db_field))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.DecimalField):
            kwargs["widget"] = DecimalInput(min_places=2 if is_amount_field(db_field) else 0)
        if db_field.name in self.help_texts and not db_field.help_text:
            kwargs["help_text"] = self.help_texts[db_field.name]
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def is_read_only(self, request, obj=None) -> bool:
        raise NotImplementedError

    def _shown(self, names: Sequence[Any]) -> list[Any]:
        decimals = {f.name for f in self.model._meta.concrete_fields if isinstance(f, models.DecimalField)}

        def swap(name):
            if isinstance(name, list | tuple):
                return type(name)(swap(n) for n in name)
            return f"{name}_shown" if name in decimals else name

        return [swap(name) for name in names]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.is_read_only(request, obj):
            return fieldsets
        return [(title, {**options, "fields": self._shown(options["fields"])}) for title, options in fieldsets]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self.is_read_only(request, obj):
            readonly += [name for name in flatten_fieldsets(self.get_fieldsets(request, obj)) if name not in readonly]
        return readonly


def _decimal_display(db_field: models.DecimalField) -> Callable[[models.Model], str]:
    min_places = 2 if is_amount_field(db_field) else 0

    def shown(obj):
        value = getattr(obj, db_field.name)
        return "—" if value is None else plain_number(value, min_places)

    shown.short_description = db_field.verbose_name  # type: ignore[attr-defined]
    return shown


# --- validating with the service -----------------------------------------------------------


class _DryRun(Exception):
    """Rolls back a service call that was made only to see whether the service accepts it."""


def dry_run(call: Callable[[], object]) -> None:
    """Run ``call`` and undo everything it wrote; a ``DomainError`` it raises propagates."""
    try:
        with transaction.atomic():
            call()
            raise _DryRun
    except _DryRun:
        pass


class RowError(Exception):
    """A ``DomainError`` about one inline row, so that it is shown on that row."""

    def __init__(self, form: forms.BaseForm, error: DomainError):
        super().__init__(error.message)
        self.form = form
        self.error = error


def show_domain_error(error: DomainError, form: forms.BaseForm, formsets: Iterable[Any] = ()) -> None:
    """Put the error where a person looks for it: on the field, the inline it names, or on top."""
    by_prefix = {formset.prefix: formset for formset in formsets}
    placed: list[str] = []
    for name, field_messages in error.fields.items():
        if name in form.fields:
            form.add_error(name, field_messages)
        elif name in by_prefix:
            by_prefix[name].non_form_errors().extend(field_messages)
        else:
            continue
        placed.extend(field_messages)
    if error.message not in placed:
        form.add_error(None, error.message)


@dataclass
class EditSession:
    """One add/change request: the admin, the form and the inline formsets validated as one."""

    model_admin: ServiceModelAdmin
    request: HttpRequest
    change: bool
    formsets: list[Any] = field(default_factory=list)

    def validate(self, form: ServiceForm) -> None:
        if form.errors or not all(formset.is_valid() for formset in self.formsets):
            return  # Django shows those errors first; the service sees the form once they are fixed.
        try:
            dry_run(lambda: self.model_admin.service_save(self.request, form, self.formsets, change=self.change))
        except RowError as row:
            show_domain_error(row.error, row.form)
        except DomainError as error:
            show_domain_error(error, form, self.formsets)


class ServiceRowForm(forms.ModelForm):
    """Django checks each field; rules across fields (constraints, uniqueness) are the service's.

    Django's model validation would report a broken database constraint as "Constraint … is
    violated." before the service could say what is wrong in words a pricing person understands;
    the service runs the same model validation after its own checks, so nothing goes unchecked.
    """

    def _post_clean(self):
        exclude = self._get_validation_exclusions()
        exclude.update(name for name, field in self.fields.items() if isinstance(field, InlineForeignKeyField))
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as error:
            self._update_errors(error)
        try:
            self.instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            self._update_errors(error)


class ServiceForm(ServiceRowForm):
    """A model form that the service validates (see the module docstring)."""

    edit_session: EditSession | None = None

    def _post_clean(self):
        super()._post_clean()
        if self.edit_session is not None:
            self.edit_session.validate(self)


class ServiceInlineFormSet(BaseInlineFormSet):
    """An inline formset whose rows the parent's service call receives; it never saves itself.

    Use it with ``ServiceRowForm`` rows (``EditableInline`` does), so the service judges them.
    """

    edit_session: EditSession | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.edit_session is not None:
            self.edit_session.formsets.append(self)

    def rows(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """The rows as entered, in order, without deleted and untouched empty ones."""
        deleted = set(map(id, self.deleted_forms))
        return [
            {name: form.cleaned_data.get(name) for name in names}
            for form in self.forms
            if form.cleaned_data and id(form) not in deleted
        ]

    def save(self, commit=True):
        raise NotImplementedError("Inline rows are saved by the parent's service call.")


def form_values(form: forms.ModelForm, allowed: Iterable[str], *, change: bool) -> dict[str, Any]:
    """Cleaned values of the form's fields the service accepts; on a change, only those that changed."""
    names = [name for name in form.fields if name in set(allowed) and name in form.cleaned_data]
    if change:
        names = [name for name in names if name in form.changed_data]
    return {name: _plain_value(form.cleaned_data[name]) for name in names}


def _plain_value(value: Any) -> Any:
    if isinstance(value, models.QuerySet):
        return list(value)
    return value


class ServiceModelAdmin(ReadableFieldsMixin, admin.ModelAdmin):
    """Base of every catalog admin: saves through ``service_save``, never deletes unless told."""

    form = ServiceForm

    class Media:
        css = {"all": ["catalog/admin.css"]}

    def service_save(self, request: HttpRequest, form: ServiceForm, formsets: list[Any], *, change: bool):
        """Call the service(s) that save what the form and inlines say; return the saved object."""
        raise NotImplementedError

    def is_read_only(self, request, obj=None) -> bool:
        return obj is not None and not self.has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        session = EditSession(model_admin=self, request=request, change=change)
        setattr(request, SESSION_ATTR, session)
        return type(form_class.__name__, (form_class,), {"edit_session": session})

    def get_formsets_with_inlines(self, request, obj=None):
        session = getattr(request, SESSION_ATTR, None)
        for formset_class, inline in super().get_formsets_with_inlines(request, obj):
            if session is not None and issubclass(formset_class, ServiceInlineFormSet):
                formset_class = type(formset_class.__name__, (formset_class,), {"edit_session": session})
            yield formset_class, inline

    def save_model(self, request, obj, form, change):
        """Nothing here: the object and its inlines are saved together in ``save_related``."""

    def save_related(self, request, form, formsets, change):
        saved = self.service_save(request, form, formsets, change=change)
        for db_field in saved._meta.concrete_fields:
            setattr(form.instance, db_field.attname, getattr(saved, db_field.attname))
        form.instance._state.adding = False
        form.instance._state.db = saved._state.db

    def construct_change_message(self, request, form, formsets, add=False):
        # The audit trail records what changed; Django's history only needs the changed fields.
        return construct_change_message(form, [], add)

    def has_delete_permission(self, request, obj=None):
        return False  # The catalog keeps what was sold: deactivate instead (no delete service).

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # e.g. a colleague published the version a moment ago
            messages.error(request, error.message)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyInline(ReadableFieldsMixin, admin.TabularInline):
    """A list of related objects shown on a page, with a link to each; edited on their own pages."""

    extra = 0
    can_delete = False
    show_change_link = True

    def is_read_only(self, request, obj=None) -> bool:
        return True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
