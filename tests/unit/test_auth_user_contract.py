"""The auth-service -> user-service contract, checked from both sides' code: every
call auth-service makes (found in its source, so a new call is checked too) goes
to a route user-service has, with a body user-service accepts whenever
auth-service's own validation passed, and the answer holds every field
auth-service reads from it."""

from __future__ import annotations

import ast
import inspect

import pytest
from auth_service import schemas as auth_schemas
from auth_service.routers import accounts
from fastapi.routing import APIRoute
from user_service.routers import internal

CALLER = "call_user_service"
ROUTES = {
    (route.path, method): route
    for route in internal.router.routes
    if isinstance(route, APIRoute)
    for method in route.methods
}


def calls() -> list[dict]:
    """(path, request model, fields read from the answer) for each call in accounts.py."""
    found = []
    tree = ast.parse(inspect.getsource(accounts))
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)):
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == CALLER):
                continue
            path, body = node.args[2], node.args[3]
            # The body is <parameter>.model_dump(): its model is that parameter's annotation.
            sent = body.func.value.id
            parameters = {arg.arg: arg.annotation for arg in function.args.args}
            assert sent in parameters, f"{function.name} sends {sent}, not one of its parameters"
            read = {
                sub.slice.value
                for sub in ast.walk(function)
                if isinstance(sub, ast.Subscript)
                and getattr(sub.value, "id", "") == "user"
                and isinstance(sub.slice, ast.Constant)
            }
            found.append(
                {
                    "function": function.name,
                    "path": path.value,
                    "model": getattr(auth_schemas, parameters[sent].id),
                    "read": read,
                }
            )
    return found


CALLS = calls()


def test_auth_service_calls_user_service():
    assert {c["path"] for c in CALLS} == {"/internal/users", "/internal/credentials/verify"}


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c["path"])
def test_the_route_exists_and_accepts_what_auth_service_validated(call):
    route = ROUTES.get((call["path"], "POST"))
    assert route is not None, f"user-service has no POST {call['path']} ({call['function']})"
    sent = call["model"].model_json_schema()
    accepted = route.body_field.field_info.annotation.model_json_schema()
    assert set(accepted.get("required", [])) <= set(sent["properties"]), (
        f"{call['path']}: user-service requires fields auth-service never sends"
    )
    if accepted.get("additionalProperties") is False:
        assert set(sent["properties"]) <= set(accepted["properties"]), (
            f"{call['path']}: auth-service sends fields user-service forbids"
        )
    for name, theirs in accepted["properties"].items():
        ours = sent["properties"].get(name, {})
        # What auth-service let through must pass user-service's validation.
        assert theirs.get("minLength", 0) <= ours.get("minLength", 0), (call["path"], name)
        assert theirs.get("maxLength", float("inf")) >= ours.get("maxLength", float("inf")), (
            call["path"],
            name,
        )
        if "pattern" in theirs:
            assert ours.get("pattern") == theirs["pattern"], (call["path"], name)


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c["path"])
def test_the_answer_holds_what_auth_service_reads(call):
    route = ROUTES[(call["path"], "POST")]
    answered = set(route.response_model.model_json_schema()["properties"])
    assert call["read"], f"{call['function']} reads nothing from user-service's answer?"
    assert call["read"] <= answered, (call["path"], call["read"] - answered)
