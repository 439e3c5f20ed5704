"""Reading a trace back from Jaeger's query API: its spans' services, kinds,
tags and parents, and the hops from one service to the next."""

from __future__ import annotations

import secrets
from collections.abc import Callable


class Trace:
    """A trace from Jaeger's query API, with its spans' services and parents."""

    def __init__(self, document: dict) -> None:
        self.spans = document["spans"]
        self.by_id = {span["spanID"]: span for span in self.spans}
        self.processes = document["processes"]

    @staticmethod
    def tags(span: dict) -> dict:
        return {tag["key"]: tag["value"] for tag in span["tags"]}

    def service(self, span: dict) -> str:
        return self.processes[span["processID"]]["serviceName"]

    @staticmethod
    def parent_id(span: dict) -> str | None:
        return next((r["spanID"] for r in span["references"] if r["refType"] == "CHILD_OF"), None)

    def find(self, service: str, kind: str, **tags) -> list[dict]:
        return [
            span
            for span in self.spans
            if self.service(span) == service
            and self.tags(span).get("span.kind") == kind
            and self.tags(span).items() >= tags.items()
        ]

    def one(self, service: str, kind: str, **tags) -> dict:
        found = self.find(service, kind, **tags)
        assert len(found) == 1, f"{service} {kind} {tags}: {len(found)} spans in {self.summary()}"
        return found[0]

    def under(self, span: dict, ancestor: dict) -> bool:
        """Whether `ancestor` is on the way from `span` to the root."""
        parent = self.parent_id(span)
        while parent is not None:
            if parent == ancestor["spanID"]:
                return True
            parent = self.parent_id(self.by_id[parent]) if parent in self.by_id else None
        return False

    def summary(self) -> list[str]:
        return sorted(
            f"{self.service(s)}:{self.tags(s).get('span.kind')}:{s['operationName']}"
            for s in self.spans
        )


def traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def has(*wanted: tuple[str, str]) -> Callable[[dict], bool]:
    """A trace is complete once each (service, span kind) is in it."""

    def complete(document: dict) -> bool:
        trace = Trace(document)
        return all(trace.find(service, kind) for service, kind in wanted)

    return complete


def assert_hop(trace: Trace, caller: str, callee: str) -> dict:
    """The callee's server span is the child of a client span of the caller's,
    itself below the caller's server span. Returns the callee's server span."""
    (server,) = trace.find(callee, "server")
    client = trace.by_id.get(trace.parent_id(server))
    assert client is not None, f"{callee}'s span has no parent in the trace: {trace.summary()}"
    assert trace.service(client) == caller
    assert Trace.tags(client)["span.kind"] == "client"
    assert trace.under(client, trace.one(caller, "server"))
    return server
