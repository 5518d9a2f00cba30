"""Staff set up two-factor login themselves: scan a QR code, confirm with a code."""

from __future__ import annotations

import base64
from xml.etree import ElementTree

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing_site import clock
from billing_site.actors import Actor
from billing_site.services.audit import audit_record

DEVICE_NAME = "Authenticator app"
QR_SIZE_PX = 200


class ConfirmForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _qr_svg(data: str) -> str:
    """An inline SVG of ``QR_SIZE_PX`` pixels: big enough for any phone camera, small enough to fit the page."""
    svg = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage).get_image()
    svg.set("width", str(QR_SIZE_PX))
    svg.set("height", str(QR_SIZE_PX))
    svg.set("role", "img")
    svg.set("aria-label", str(_("QR code for your authenticator app")))
    return ElementTree.tostring(svg, encoding="unicode")


@transaction.atomic
def _confirm(request, device: TOTPDevice) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
    audit_record(actor=Actor.staff(request.user), action="staff.mfa_enabled", obj=request.user, now=clock.now())
    otp_login(request, device)


def mfa_setup_view(site):
    @login_required(login_url="admin:login")
    def view(request):
        if not request.user.is_staff:
            return redirect("admin:login")
        confirmed = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
        if confirmed and not request.user.is_verified():
            # Replacing an authenticator needs proof of the current one, not only a password session.
            messages.error(
                request, _("To replace your authenticator app, sign in again with a code from the app you use now.")
            )
            return redirect("admin:login")
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
        form = ConfirmForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["token"].strip()):
                _confirm(request, device)
                messages.success(
                    request, _("Two-factor login is on. From now on you sign in with a code from your app.")
                )
                return redirect("admin:index")
            form.add_error("token", _("That code is not right. Check the time on your phone and try the newest code."))
        secret = base64.b32encode(device.bin_key).decode()
        context = site.each_context(request)
        if not context["has_permission"]:
            # Not through the second factor yet: no menu of pages that would only send them back here.
            context.update(available_apps=[], is_nav_sidebar_enabled=False)
        context = {
            **context,
            "title": _("Set up two-factor login"),
            "form": form,
            "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308 - SVG we generate ourselves
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "already_confirmed": confirmed,
        }
        return render(request, "admin/mfa_setup.html", context)

    return view
