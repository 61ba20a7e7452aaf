"""The OpenAPI document describes every desk route the app serves, with the models that validate them."""

from __future__ import annotations

from app.web import build_app
from config.settings import Settings
from desk.api import ROUTES
from desk.http import PREFIX
from desk.openapi import openapi_document


def served_routes() -> set[tuple[str, str]]:
    app = build_app(Settings(redis_url="redis://unused", handover_partitions=2))
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith(PREFIX) and route.method != "HEAD" and path != f"{PREFIX}/openapi.json":
            found.add((route.method.lower(), path))
    return found


def test_every_served_desk_route_is_documented():
    spec = openapi_document(ROUTES, PREFIX)
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert served_routes() == documented
    assert ("post", "/api/v1/conversations/{id}/template") in documented


def test_bodies_and_the_event_stream_are_described():
    spec = openapi_document(ROUTES, PREFIX)
    template = spec["paths"]["/api/v1/conversations/{id}/template"]["post"]
    body = template["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/TemplateBody")
    assert set(spec["components"]["schemas"]["TemplateBody"]["required"]) == {"name", "language"}
    assert {"401", "403", "404", "409", "422"} <= set(template["responses"])
    events = spec["paths"]["/api/v1/events"]["get"]["responses"]["200"]
    assert "text/event-stream" in events["content"]
    assert "transfer_offered" in events["description"] and "agent_status" in events["description"]


def test_the_list_documents_its_paging():
    spec = openapi_document(ROUTES, PREFIX)
    listed = spec["paths"]["/api/v1/conversations"]["get"]
    names = {p["name"] for p in listed["parameters"]}
    assert names == {"limit", "cursor", "state", "queue", "agent_id", "number", "q"}
    assert all(p["in"] == "query" for p in listed["parameters"])
    answer = listed["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["type"] == "array"
    assert set(answer["headers"]) == {"Link", "X-Next-Cursor"}
    assert "422" in listed["responses"]
    one = spec["paths"]["/api/v1/conversations/{id}"]["get"]
    assert [p["name"] for p in one["parameters"]] == ["id", "lang"]  # the summary in the reader's language


def schema_at(spec: dict, ref: str) -> dict:
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_two_models_of_one_name_are_described_apart():
    """The packet's EscalationView and an explanation's were one schema (the last written): a real packet
    failed its own document."""
    spec = openapi_document(ROUTES, PREFIX)
    detail = spec["paths"]["/api/v1/conversations/{id}"]["get"]["responses"]["200"]
    packet = schema_at(spec, detail["content"]["application/json"]["schema"]["$ref"])["properties"]["packet"]
    packet_schema = schema_at(spec, next(s["$ref"] for s in packet["anyOf"] if "$ref" in s))
    escalation = schema_at(spec, packet_schema["properties"]["escalation"]["$ref"])
    assert {"reason", "rule", "trigger_message"} <= set(escalation["properties"])
    assert "queue" not in escalation.get("required", [])
    explained = spec["paths"]["/api/v1/bot/explain"]["post"]["responses"]["200"]
    explanation = schema_at(spec, explained["content"]["application/json"]["schema"]["$ref"])
    its_escalation = schema_at(
        spec, next(s["$ref"] for s in explanation["properties"]["escalation"]["anyOf"] if "$ref" in s)
    )
    assert set(its_escalation["required"]) == {"queue", "reason", "priority"}


def test_every_answer_a_route_can_give_is_documented():
    spec = openapi_document(ROUTES, PREFIX)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert {"401", "503"} <= set(answers), (method, path)
            assert "Retry-After" in answers["503"]["headers"]
            if "requestBody" in operation:
                assert {"413", "422"} <= set(answers), (method, path)
    for path in (
        "/stats",
        "/bot/stats",
        "/bot/unrecognized",
        "/bot/explain",
        "/rules",
        "/rules/diff",
        "/audit",
    ):
        operation = next(iter(spec["paths"][PREFIX + path].values()))
        assert "403" in operation["responses"], path  # supervisors only
    for path in ("/stats", "/bot/stats", "/bot/unrecognized", "/audit"):
        [hours] = [p for p in spec["paths"][PREFIX + path]["get"]["parameters"] if p["name"] == "hours"]
        assert hours["schema"]["minimum"] == 1 and "422" in spec["paths"][PREFIX + path]["get"]["responses"]
    diff = spec["paths"][f"{PREFIX}/rules/diff"]["get"]["parameters"]
    assert [(p["name"], p.get("required")) for p in diff] == [("a", True), ("b", True), ("number", None)]


def test_the_stats_route_describes_the_kpis_and_its_queue_filter():
    spec = openapi_document(ROUTES, PREFIX)
    stats = spec["paths"][f"{PREFIX}/stats"]["get"]
    assert [p["name"] for p in stats["parameters"]] == ["hours", "queue"]
    assert {"403", "404", "422"} <= set(stats["responses"])
    schema = spec["components"]["schemas"]["Stats"]
    kept = {"escalations", "claimed", "resolved", "csat", "queue_wait", "handle", "agents"}  # as before
    added = {
        "service_level",
        "abandonment",
        "fcr",
        "transfers_per_conversation",
        "breaches",
        "queues",
        "by_hour",
    }
    assert kept | added | {"queue", "fcr_days"} <= set(schema["properties"])
    assert set(spec["components"]["schemas"]["Fcr"]["properties"]) == {
        "resolved",
        "came_back",
        "pending",
        "rate",
    }
    bot = spec["components"]["schemas"]["BotStatsWithFcr"]
    assert {"fcr_by_version", "totals"} <= set(bot["properties"])
