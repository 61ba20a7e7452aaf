"""The desk's OpenAPI 3.1 document, generated from the route table and the pydantic models it names.

Every model is described in one pass, so two models of the same name (`EscalationView` of the packet and of
an explanation) get one schema each instead of the last one for both; bodies are described as they are read
and answers as they are written. Every operation lists its errors: 401, 429, 503 (Redis away), 403/404/409
for a conversation, 422, 413 and 408 for a body, and the route's own."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from desk.models import ErrorBody

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Param:
    """A query parameter: its name, what it does, and its JSON schema."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


# `?number=`, as desk/http.py `number_asked` reads it
NUMBER_PARAM = Param("number", "the business number (phone_number_id) whose rules answer (default rules)")


def hours_param(most: int) -> Param:
    """`?hours=`, as desk/http.py `hours_asked` reads it."""
    return Param(
        "hours",
        f"the last hours, 1 to {most} (default 24; 422 outside)",
        {"type": "integer", "minimum": 1, "maximum": most, "default": 24},
    )


SUPERVISORS_ONLY = {403: "not a supervisor"}
# figures not yet split by business number: for supervisors of every number (desk/scope.py)
EVERY_NUMBER_ONLY = {
    403: "not a supervisor, or a supervisor of some numbers only (figures per number are not available yet)"
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    extra: dict[int, str] = field(default_factory=dict)
    events: str | None = None  # a server-sent events stream: what its events are
    query: tuple[Param, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)  # the success answer's headers: what each says


def openapi_document(
    routes: list[Route], prefix: str, webhooks: Mapping[str, tuple[type[BaseModel], str]] | None = None
) -> dict[str, Any]:
    """`webhooks`: what this service posts to others (name -> (body, when)), OpenAPI 3.1's `webhooks`."""
    refs, schemas = _schemas(routes, [body for body, _ in (webhooks or {}).values()])
    error = {"content": {"application/json": {"schema": refs[ErrorBody, "serialization"]}}}
    paths: dict[str, Any] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "responses": _responses(route, refs, error),
            "security": [{"bearer": []}],
        }
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[route.body, "validation"]}},
            }
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", route.path)
        ]
        parameters += [
            {"name": p.name, "in": "query", "description": p.description, "schema": p.schema}
            | ({"required": True} if p.required else {})
            for p in route.query
        ]
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(prefix + route.path, {})[route.method.lower()] = operation
    posted = {
        name: {
            "post": {
                "summary": when,
                "requestBody": {"content": {"application/json": {"schema": refs[body, "serialization"]}}},
                "responses": {"2XX": {"description": "delivered; anything else is retried (docs/hooks.md)"}},
            }
        }
        for name, (body, when) in (webhooks or {}).items()
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "whatsapp-handover desk API", "version": "1"},
        "paths": paths,
        **({"webhooks": posted} if posted else {}),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]  # (model, mode) -> {"$ref": ...}


def _schemas(routes: list[Route], posted: list[type[BaseModel]]) -> tuple[_Refs, dict[str, Any]]:
    """A `$ref` for each (model, mode) the routes name (and the webhooks post), and their schemas."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorBody, "serialization"): None}
    wanted.update(((body, "serialization"), None) for body in posted)
    for route in routes:
        if route.body is not None:
            wanted[route.body, "validation"] = None
        if route.response is not None:
            wanted[route.response, "serialization"] = None
    refs, found = models_json_schema(list(wanted), ref_template=REF, by_alias=True)
    schemas: dict[str, Any] = found.get("$defs", {})
    return refs, schemas


def _responses(route: Route, refs: _Refs, error: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if route.response is not None:
        schema = refs[route.response, "serialization"]
        if route.many:
            schema = {"type": "array", "items": schema}
        responses[str(route.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        }
        if route.headers:
            responses[str(route.status)]["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in route.headers.items()
            }
    if route.events is not None:
        responses["200"] = {
            "description": route.events,
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    for status, text in route.extra.items():
        responses[str(status)] = {"description": text, **(error if status >= 400 else {})}
    responses["401"] = {"description": "missing or unknown token", **error}
    if "{id}" in route.path:  # a conversation's route
        responses["403"] = {"description": "not yours", **error}
        responses["404"] = {"description": "no such conversation", **error}
        responses.setdefault("409", {"description": "wrong state", **error})
    if route.body is not None:
        responses["413"] = {"description": "body larger than the server takes", **error}
        responses.setdefault("422", {"description": "invalid body", **error})
    if "413" in responses:  # a body is read: within the body deadline
        responses["408"] = {"description": "body not received whole in time; the connection closes", **error}
    responses["429"] = {
        "description": "the agent has its share of requests in flight (code too_many_requests), or the "
        "address sent too many unknown tokens (code too_many_failures): try again after Retry-After seconds",
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}},
        **error,
    }
    responses["503"] = {
        "description": "storage unavailable: try again after Retry-After seconds (code store_unavailable)",
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}},
        **error,
    }
    return responses
