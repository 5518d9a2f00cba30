"""The Stripe-Signature check (pure: no database)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from invoicing.domain.signatures import SignatureError, stripe_signature_header, stripe_signature_verify

SECRET = "whsec_test_0123456789abcdef"
OLD_SECRET = "whsec_test_old"
PAYLOAD = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
T = 1_770_000_000


def verify(header: str, *, payload: bytes = PAYLOAD, secrets=(SECRET,), now: int = T, tolerance: int = 300) -> None:
    stripe_signature_verify(payload=payload, header=header, secrets=list(secrets), now=now, tolerance=tolerance)


def refusal(header: str, **kwargs) -> str:
    with pytest.raises(SignatureError) as refused:
        verify(header, **kwargs)
    return refused.value.code


def test_the_header_is_built_as_stripe_builds_it():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + PAYLOAD, hashlib.sha256).hexdigest()
    assert stripe_signature_header(PAYLOAD, SECRET, T) == f"t={T},v1={expected}"


def test_a_genuine_delivery_passes():
    verify(stripe_signature_header(PAYLOAD, SECRET, T))


def test_another_secret_or_a_changed_body_is_refused():
    assert refusal(stripe_signature_header(PAYLOAD, "whsec_someone_else", T)) == "signature_mismatch"
    assert refusal(stripe_signature_header(PAYLOAD, SECRET, T), payload=PAYLOAD + b" ") == "signature_mismatch"
    # The timestamp is signed too: moving it breaks the signature.
    signature = stripe_signature_header(PAYLOAD, SECRET, T).split(",")[1]
    assert refusal(f"t={T + 1},{signature}") == "signature_mismatch"


def test_a_timestamp_300_seconds_away_passes_and_301_is_refused_both_ways():
    verify(stripe_signature_header(PAYLOAD, SECRET, T - 300))
    verify(stripe_signature_header(PAYLOAD, SECRET, T + 300))
    assert refusal(stripe_signature_header(PAYLOAD, SECRET, T - 301)) == "timestamp_outside_tolerance"
    assert refusal(stripe_signature_header(PAYLOAD, SECRET, T + 301)) == "timestamp_outside_tolerance"


def test_one_matching_v1_among_several_is_enough():
    good = stripe_signature_header(PAYLOAD, SECRET, T).split(",")[1]
    verify(f"t={T},v1={'0' * 64},{good},v1=abc")


def test_v0_signatures_are_never_trusted():
    v0 = stripe_signature_header(PAYLOAD, SECRET, T).split(",")[1].replace("v1=", "v0=")
    assert refusal(f"t={T},{v0}") == "signature_malformed"
    assert refusal(f"t={T},{v0},v1={'0' * 64}") == "signature_mismatch"


def test_while_a_secret_is_rolled_either_secret_passes():
    both = (OLD_SECRET, SECRET)
    verify(stripe_signature_header(PAYLOAD, SECRET, T), secrets=both)
    verify(stripe_signature_header(PAYLOAD, OLD_SECRET, T), secrets=both)
    assert refusal(stripe_signature_header(PAYLOAD, "whsec_other", T), secrets=both) == "signature_mismatch"


def test_without_a_secret_every_delivery_is_refused():
    header = stripe_signature_header(PAYLOAD, "", T)
    assert refusal(header, secrets=()) == "webhook_secret_missing"
    assert refusal(header, secrets=("", "  ")) == "webhook_secret_missing"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("", "signature_missing"),
        ("   ", "signature_missing"),
        ("v1=abc", "signature_malformed"),
        (f"t={T}", "signature_malformed"),
        (f"t=soon,v1={'0' * 64}", "signature_malformed"),
        (f"t={T},t={T},v1={'0' * 64}", "signature_malformed"),
        (f"t={T},v1=é", "signature_mismatch"),
        ("garbage", "signature_malformed"),
    ],
)
def test_a_missing_or_malformed_header_is_refused(header, code):
    assert refusal(header) == code


def test_a_refusal_never_quotes_the_secret():
    with pytest.raises(SignatureError) as refused:
        verify(stripe_signature_header(PAYLOAD, "whsec_wrong", T))
    assert SECRET not in str(refused.value) and "whsec" not in refused.value.message
