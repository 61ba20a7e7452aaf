"""The desk's OpenAPI 3.1 document, generated from the route table and the pydantic models it names."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from desk.models import ErrorBody

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Param:
    """A query parameter: its name, what it does, and its JSON schema."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


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


def openapi_document(routes: list[Route], prefix: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=REF, by_alias=True)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}

    error = {"content": {"application/json": {"schema": ref(ErrorBody)}}}
    paths: dict[str, Any] = {}
    for route in routes:
        responses: dict[str, Any] = {}
        if route.response is not None:
            schema = ref(route.response)
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
        names = re.findall(r"\{(\w+)\}", route.path)
        if "id" in names:
            responses["403"] = {"description": "not yours", **error}
            responses["404"] = {"description": "no such conversation", **error}
            responses.setdefault("409", {"description": "wrong state", **error})
        operation: dict[str, Any] = {
            "summary": route.summary,
            "responses": responses,
            "security": [{"bearer": []}],
        }
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(route.body)}},
            }
            responses["422"] = {"description": "invalid body", **error}
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names
        ]
        parameters += [
            {"name": p.name, "in": "query", "description": p.description, "schema": p.schema}
            for p in route.query
        ]
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(prefix + route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "whatsapp-handover desk API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
