"""bolttech subscription-service: Bearer + ``Strategy-Secret``, cancel created instances.

``BOLTTECH_STRATEGY_SECRET`` is the plain secret; the header carries it base64-encoded, and positive
cases get it (the spec cannot say which secret belongs to a strategy). Which sids exist and what a
strategy body needs to be accepted is bolttech's own generation knowledge,
``mock_server/apis/bolttech/contract_hooks.py``, loaded with every vendor's hooks.
"""

from __future__ import annotations

import base64
import os

import requests
import yaml

from contract_tests.apis import Adapter, Resource, Target, is_positive
from mock_server import PROJECT_ROOT

BEARER, SECRET = "BOLTTECH_BEARER", "BOLTTECH_STRATEGY_SECRET"
FIXTURES = PROJECT_ROOT / "fixtures" / "bolttech.yaml"
HEADER = "Strategy-Secret"


def _fixtures() -> dict:
    return yaml.safe_load(FIXTURES.read_text()) or {} if FIXTURES.exists() else {}


def encoded(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode() if secret else ""


class Bolttech(Adapter):
    def map_case(self, case, data: dict):
        if not is_positive(case):
            return case
        declared = {p.name for p in case.operation.headers} if hasattr(case.operation, "headers") else set()
        if HEADER in declared or HEADER in (case.headers or {}):
            case.headers = {**(case.headers or {}), HEADER: encoded(os.environ.get(SECRET, ""))}
        return case

    def created(self, case, response) -> list[Resource]:
        if case.method.upper() == "POST" and case.path == "/execution-instance" and response.status_code == 200:
            try:
                sid = response.json().get("sid")
            except (ValueError, AttributeError):
                return []
            return [Resource("instance", str(sid))] if sid else []
        if case.method.upper() == "POST" and case.path == "/execution-strategy" and response.status_code == 200:
            return [Resource("strategy", str((response.json() or {}).get("sid", "?")))]
        return []

    def cleanup(self, target: Target, resources: list[Resource]) -> list[str]:
        """Cancel every instance the run created; strategies have no delete in the API: listed."""
        left = []
        session = requests.Session()
        session.trust_env = False
        session.headers.update({"Authorization": f"Bearer {target.env.get(BEARER, '')}",
                                HEADER: encoded(target.env.get(SECRET, ""))})
        for resource in resources:
            if resource.kind != "instance":
                left.append(f"{resource.kind} {resource.id}: the API has no way to delete it")
                continue
            try:
                answer = session.post(f"{target.url}/execution-instance/{resource.id}/cancel", timeout=30)
            except requests.RequestException as exc:
                left.append(f"instance {resource.id}: {exc.__class__.__name__}")
                continue
            if answer.status_code not in (200, 404, 409):
                left.append(f"instance {resource.id}: cancel answered {answer.status_code}")
        return left


def _mock_credentials() -> dict[str, str]:
    fixtures = _fixtures()
    bearer = (fixtures.get("bearerTokens") or ["dev-bearer"])[0]
    secret = next((s["secret"] for s in fixtures.get("strategies") or [] if s.get("secret")), "dev-secret")
    return {BEARER: bearer, SECRET: secret}


adapter = Bolttech(
    "bolttech",
    credentials=_mock_credentials(),
    auth={"openapi": {"bearerAuth": {"bearer": "${" + BEARER + "}"}}},
    # 15 operations whose coverage phase alone sends ~1,000 cases: 10 fuzzed examples each keep the
    # run within the four-API budget (60 s against the mock) without losing a link or a warning figure.
    max_examples=10,
    settings={"phases": {"stateful": {
        # A cancel of a cancelled instance or a resume of a running event is bolttech's documented
        # 409, not a broken link: keep every link in play instead of letting calibration starve them.
        "link-calibration": False,
        # Sequences of valid requests reach the instances and events; invalid data is the other phases' job.
        "max-steps": 12, "generation": {"max-examples": 40, "mode": "positive"},
    }}},
)
