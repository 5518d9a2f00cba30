"""The customer's payment methods on their page, and what finance can do with them.

Cards are entered on the provider's page, never here: with Stripe, finance gets a Checkout link to send
the customer; with the simulated provider (demos, tests) finance picks a test card.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from billing_site.actors import Actor
from billing_site.errors import DomainError
from invoicing.admin.balance import _CustomerPanel
from invoicing.gateways.simulated import TEST_CARDS
from invoicing.models import PaymentMethod
from invoicing.services.payment_methods import (
    payment_method_add,
    payment_method_detach,
    payment_method_set_default,
    payment_method_setup_session,
)
from subscriptions.models import Customer

MANAGE = "invoicing.change_invoice"


class TestCardForm(forms.Form):
    token = forms.ChoiceField(
        label=_("Test card"),
        choices=[(token, card.label) for token, card in TEST_CARDS.items()],
        # Never repeat what was sent: someone could have typed a real card number.
        error_messages={"invalid_choice": _("Choose one of the test cards.")},
    )
    make_default = forms.BooleanField(label=_("Make it the default payment method"), required=False, initial=True)


class CustomerPaymentMethodsInline(_CustomerPanel):
    model = PaymentMethod
    fields = ["brand"]  # never shown: the template draws the panel
    verbose_name_plural = _("payment methods")
    template = "admin/invoicing/edit_inline/customer_payment_methods.html"

    def panel_context(self, request, customer: Customer) -> dict[str, Any]:
        can_manage = request.user.has_perm(MANAGE)
        methods = PaymentMethod.objects.filter(customer=customer).order_by("status", "-is_default", "-created_at")
        return {
            "rows": [
                {
                    "label": str(method),
                    "provider": method.get_provider_display(),
                    "default": method.is_default,
                    "active": method.status == "active",
                    "status": method.get_status_display(),
                    "added": f"{method.created_at:%Y-%m-%d}",
                    "default_url": _url("default", method.pk) if can_manage else None,
                    "remove_url": _url("remove", method.pk) if can_manage else None,
                }
                for method in methods[:20]
            ],
            "gateway": settings.PAYMENT_GATEWAY,
            "add_url": _url("add", customer.pk) if can_manage and settings.PAYMENT_GATEWAY == "simulated" else None,
            "setup_url": _url("setup", customer.pk) if can_manage and settings.PAYMENT_GATEWAY == "stripe" else None,
        }


def _url(op: str, pk: int) -> str:
    return reverse("admin:invoicing_customer_payment_method", args=[op, pk])


def payment_method_view(request, op: str, pk: int):
    """add (test card form), setup (Stripe Checkout link), default / remove (POST)."""
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    actor = Actor.staff(request.user)
    if op in ("default", "remove"):
        method = get_object_or_404(PaymentMethod, pk=pk)
        back = reverse("admin:subscriptions_customer_change", args=[method.customer_id])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        try:
            if op == "default":
                payment_method_set_default(method=method, actor=actor, now=clock.now(method.customer))
                messages.success(request, _("%(card)s is now the default payment method.") % {"card": method})
            else:
                payment_method_detach(method=method, actor=actor, now=clock.now(method.customer))
                messages.success(request, _("%(card)s was removed.") % {"card": method})
        except DomainError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(back)
    if op not in ("add", "setup"):
        raise Http404(_("There is no such action."))
    customer = get_object_or_404(Customer, pk=pk)
    back = reverse("admin:subscriptions_customer_change", args=[customer.pk])
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": _("Payment method for %(customer)s") % {"customer": customer},
        "customer": customer,
        "back_url": back,
        "op": op,
    }
    if op == "setup":
        if request.method == "POST":
            try:
                session = payment_method_setup_session(
                    customer=customer, actor=actor, now=clock.now(customer),
                    success_url=settings.SITE_URL + back, cancel_url=settings.SITE_URL + back,
                )  # fmt: skip
                context["session"] = session
            except DomainError as error:
                context["error"] = error.message
        return TemplateResponse(request, "admin/invoicing/customer/payment_method.html", context)
    form = TestCardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            method = payment_method_add(
                customer=customer, token=form.cleaned_data["token"], actor=actor, now=clock.now(customer),
                make_default=form.cleaned_data["make_default"],
            )  # fmt: skip
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("%(card)s was added.") % {"card": method})
            return HttpResponseRedirect(back)
    context["form"] = form
    return TemplateResponse(request, "admin/invoicing/customer/payment_method.html", context)


def urls(site: admin.AdminSite) -> list:
    return [
        path(
            "customer-payment-method/<slug:op>/<int:pk>/",
            site.admin_view(payment_method_view),
            name="invoicing_customer_payment_method",
        )
    ]


def register(site: admin.AdminSite) -> None:
    customer_admin = site._registry.get(Customer)
    if customer_admin is not None and CustomerPaymentMethodsInline not in customer_admin.inlines:
        customer_admin.inlines = [*customer_admin.inlines, CustomerPaymentMethodsInline]
