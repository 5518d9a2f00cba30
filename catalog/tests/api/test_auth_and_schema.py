from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from billing_site.actors import Actor
from billing_site.services.api_keys import api_key_revoke
from catalog.tests.api.helpers import API, catalog_counts, error_of
from catalog.tests.factories import make_graduated_price, make_product

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "products",
    "metrics",
    "plans",
    "prices",
    "coupons",
    "tax-rates",
]


@pytest.mark.parametrize("resource", ENDPOINTS)
def test_no_key_is_401_in_the_error_shape(resource):
    response = APIClient().get(f"{API}/{resource}")

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Bearer bk_nope_nope", "Token abc", "Bearer"])
def test_a_wrong_key_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(f"{API}/products")

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_a_revoked_key_is_401(api_client, api_key, now):
    api_key_revoke(key=api_key[0], actor=Actor.system("tests"), now=now)

    response = api_client.get(f"{API}/products")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "products", {"name": "Storage"}),
        ("post", "metrics", {"code": "calls", "name": "Calls"}),
        ("post", "plans", {"code": "team", "name": "Team"}),
        ("post", "prices", {"product": 1, "currency": "EUR", "pricing_model": "flat", "flat_amount": "5"}),
        ("post", "coupons", {"code": "x", "name": "X", "discount_type": "percent", "percent_off": "5"}),
        ("post", "tax-rates", {"name": "VAT", "country": "NL", "percentage": "21"}),
        ("patch", "products/{product}", {"name": "Renamed"}),
    ],
)
def test_a_read_only_key_cannot_write(read_only_client, method, path, body):
    product = make_product(name="Storage")
    before = catalog_counts()

    response = getattr(read_only_client, method)(f"{API}/{path.format(product=product.pk)}", body, format="json")

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "permission_denied"
    assert "write" in error["message"]
    assert catalog_counts() == before


def test_a_read_only_key_can_list_and_quote(read_only_client):
    price = make_graduated_price()
    before = catalog_counts()

    assert read_only_client.get(f"{API}/prices").status_code == 200
    response = read_only_client.post(f"{API}/prices/{price.pk}/quote", {"quantity": "12"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["amount"] == {"amount": "79.50", "currency": "EUR"}
    assert catalog_counts() == before


def test_a_write_only_key_cannot_quote(now):
    from billing_site.services.api_keys import api_key_create

    _, secret = api_key_create(name="Loader", scopes=["write"], actor=Actor.system("tests"), now=now)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = client.post(f"{API}/prices/{make_graduated_price().pk}/quote", {"quantity": "1"}, format="json")

    assert response.status_code == 403
    assert "read" in error_of(response)["message"]


def test_quote_without_a_key_is_401():
    response = APIClient().post(f"{API}/prices/1/quote", {"quantity": "1"}, format="json")

    assert response.status_code == 401


def test_schema_documents_the_catalog(client):
    response = client.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/products": {"get", "post"},
        "/api/v1/products/{id}": {"get", "patch"},
        "/api/v1/metrics": {"get", "post"},
        "/api/v1/plans": {"get", "post"},
        "/api/v1/plans/{id}/versions": {"get", "post"},
        "/api/v1/plan-versions/{id}": {"get"},
        "/api/v1/plan-versions/{id}/publish": {"post"},
        "/api/v1/plan-versions/{id}/archive": {"post"},
        "/api/v1/prices": {"get", "post"},
        "/api/v1/prices/{id}": {"get", "patch"},
        "/api/v1/prices/{id}/quote": {"post"},
        "/api/v1/coupons": {"get", "post"},
        "/api/v1/coupons/{id}/promotion-codes": {"get", "post"},
        "/api/v1/tax-rates": {"get", "post"},
        "/api/v1/tax-rates/{id}": {"get", "patch"},
    }.items():
        assert methods <= set(paths[path]), path
    assert not any(path.endswith("/") for path in paths), "the slash twins are not documented twice"
    list_params = {p["name"] for p in paths["/api/v1/prices"]["get"]["parameters"]}
    assert {
        "cursor",
        "limit",
        "product",
        "currency",
        "plan_version",
        "usage_type",
        "pricing_model",
        "active",
        "addon",
    } <= list_params
    quote = paths["/api/v1/prices/{id}/quote"]["post"]
    assert "read" in quote["description"]
    assert quote["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/QuoteInputRequest")
    assert set(quote["responses"]) >= {"200", "400", "401", "403", "404"}
    price_input = schema["components"]["schemas"]["PriceInputRequest"]["properties"]
    assert price_input["unit_amount"]["type"] == "string"
    assert price_input["unit_amount"]["format"] == "decimal"
    assert "ApiKey" in schema["components"]["securitySchemes"]
