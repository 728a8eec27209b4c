"""The HTTP contract: JSON errors, content types, sizes, documentation, health."""

import pytest

pytestmark = pytest.mark.postgres


def test_openapi_document_and_browsable_docs_are_served(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/persons",
        "/api/periods/due",
        "/api/periods/overdue",
        "/api/suspensions/{suspension_id}/restoration",
        "/api/counter/certifications",
    ):
        assert path in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"/api/docs/assets/swagger-ui-bundle.js" in docs.data
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_without_a_token_the_answer_is_401_with_a_reason(client):
    resp = client.get("/api/persons")
    assert resp.status_code == 401
    assert "Bearer" in resp.get_json()["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    forged = client.get("/api/persons", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401


def test_wrong_content_type_is_415(clerk):
    resp = clerk.client.post(
        "/api/persons",
        data="citizen_id=1",
        headers={**clerk.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 415
    assert "application/json" in resp.get_json()["message"]


def test_malformed_json_is_a_4xx_not_a_500(clerk):
    resp = clerk.client.post(
        "/api/persons",
        data="{not json",
        headers={**clerk.headers, "Content-Type": "application/json"},
    )
    assert 400 <= resp.status_code < 500
    assert resp.get_json()["message"]


def test_oversized_body_is_413(clerk, settings):
    big = {
        "citizen_id": "1",
        "name": "x" * (settings.max_request_bytes + 10),
        "region_code": "500103",
    }
    resp = clerk.post("/api/persons", json=big)
    assert resp.status_code == 413
    assert resp.get_json()["reason"] == "request_entity_too_large"


def test_unknown_address_and_method_are_json(clerk):
    assert clerk.get("/api/nothing-here").get_json()["code"] == 404
    resp = clerk.client.delete("/api/persons", headers=clerk.headers)
    assert resp.status_code == 405 and resp.is_json


def test_the_self_service_family_and_review_api_is_documented_with_examples(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in (
        "/api/selfservice/sessions",
        "/api/selfservice/sessions/{session_id}/submit",
        "/api/selfservice/sessions/{session_id}/events",
        "/api/family/bindings",
        "/api/staff/family-bindings/{binding_id}/decision",
        "/api/review/cases/{case_id}/decision",
        "/api/persons/{person_id}/enrolment",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    for name in ("Started", "Submit", "Status", "Upload", "BindingRequest", "CaseDecision"):
        props = schemas[name]["properties"]
        assert any("example" in p for p in props.values()), name


def test_every_operation_declares_its_error_body_and_the_formats_are_in_the_schema(client):
    spec = client.get("/api/openapi.json").get_json()
    error = spec["components"]["schemas"]["ApiError"]
    assert {"code", "status", "reason", "message"} <= set(error["required"])
    assert {"field", "details", "errors"} <= set(error["properties"])
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert "default" in operation["responses"], (method, path)
    schemas = spec["components"]["schemas"]
    assert schemas["PersonCreate"]["properties"]["citizen_id"]["pattern"] == r"^\d{17}[\dXx]$"
    assert schemas["PersonCreate"]["properties"]["region_code"]["pattern"].startswith(r"^\d{6}")
    cursor = next(
        p for p in spec["paths"]["/api/persons"]["get"]["parameters"] if p["name"] == "cursor"
    )
    assert cursor["schema"]["pattern"] == "^[A-Za-z0-9_-]*$"
