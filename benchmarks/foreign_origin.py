"""Requests that other web sites make a reader's browser send: every one refused.

Part of ``benchmarks/reliability.py``: starts a server, sends every state-changing
request as a foreign page would, and checks that each was refused and nothing changed,
while the service's own pages and programs without an Origin still work.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

#: Headers of requests that another web site (or a browser extension without the token)
#: makes the reader's browser send.
FOREIGN_HEADERS = {
    "another site": {"origin": "http://evil.example"},
    "another loopback port": {"origin": "http://127.0.0.1:9", "sec-fetch-site": "same-site"},
    "opaque origin": {"origin": "null"},
    "cross-site fetch": {"sec-fetch-site": "cross-site"},
    "extension without token": {"origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop"},
}


def foreign_origin(base_url: str, text: str) -> dict[str, Any]:
    """Every state-changing route of the server at ``base_url`` from every foreign origin:
    refused, nothing changed."""
    form = {"text": text}
    with httpx.Client(base_url=base_url, timeout=120, follow_redirects=False) as client:
        target = client.post("/api/analyze", json=form).json()["id"]
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/api/analyze", {"json": form}),
            ("POST", "/analyze", {"data": form}),
            ("DELETE", f"/api/analyses/{target}", {}),
            ("POST", f"/a/{target}/delete", {}),
        ]
        stored_before = client.get("/healthz").json()["analyses"]
        statuses = Counter(
            str(client.request(method, path, headers=headers, **body).status_code)
            for method, path, body in requests
            for headers in FOREIGN_HEADERS.values()
        )
        stored_after = client.get("/healthz").json()["analyses"]
        target_kept = client.get(f"/api/analyses/{target}").status_code == 200
        own = {"origin": base_url, "sec-fetch-site": "same-origin"}
        allowed = [
            client.post("/api/analyze", json=form).status_code,  # a program: no Origin
            client.post("/analyze", data=form, headers=own).status_code,
            client.post(f"/a/{target}/delete", headers=own).status_code,
        ]
    return {
        "foreign_requests": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "refused": statuses["403"] + statuses["401"],
        "stored_before": stored_before,
        "stored_after": stored_after,
        "target_kept": target_kept,
        "own_page_and_program_statuses": allowed,
    }


def foreign_origin_problems(result: dict[str, Any]) -> list[str]:
    problems = []
    if result["refused"] != result["foreign_requests"]:
        problems.append(f"{result['foreign_requests'] - result['refused']} foreign requests served")
    if result["stored_after"] != result["stored_before"] or not result["target_kept"]:
        problems.append("a foreign request changed the stored analyses")
    if result["own_page_and_program_statuses"] != [201, 303, 303]:
        problems.append("the service's own page or a program was refused")
    return problems


def foreign_origin_lines(result: dict[str, Any]) -> list[str]:
    statuses = ", ".join(f"{count} × {status}" for status, count in result["statuses"].items())
    return [
        "## Requests from other web sites",
        "",
        f"Each POST and DELETE route with {len(FOREIGN_HEADERS)} foreign origins "
        "(another site, another loopback port, `null`, a cross-site fetch, a browser "
        "extension without the token).",
        "",
        "| foreign requests | refused (403/401) | answers | analyses before → after "
        "| target kept | own page and program |",
        "|---:|---:|---|---|---|---|",
        f"| {result['foreign_requests']} | {result['refused']} | {statuses} | "
        f"{result['stored_before']} → {result['stored_after']} | "
        f"{'yes' if result['target_kept'] else 'NO'} | "
        f"{' '.join(map(str, result['own_page_and_program_statuses']))} |",
        "",
    ]
