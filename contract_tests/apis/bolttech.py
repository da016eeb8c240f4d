"""bolttech subscription-service: Bearer + ``Strategy-Secret``, fixture sids, cancel created instances.

``BOLTTECH_STRATEGY_SECRET`` is the plain secret; the header carries it base64-encoded. Positive
cases get it, and the fixtures' strategy and instance sids in their path (outside the stateful
phase), because the spec cannot say which sids exist or which secret belongs to a strategy.
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
    def prepare(self, target: Target) -> dict:
        if not target.is_mock:
            return {}
        fixtures = _fixtures()
        strategies = [s["sid"] for s in fixtures.get("strategies") or [] if "sid" in s]
        strategies += [s["sid"] for s in (fixtures.get("records") or {}).get("/execution-strategy", []) if "sid" in s]
        instances = [i["sid"] for i in fixtures.get("instances") or [] if "sid" in i]
        instances += [i["sid"] for i in (fixtures.get("records") or {}).get("/execution-instance", []) if "sid" in i]
        return {"strategySid": strategies[:1], "instanceSid": instances[:1]}

    def map_case(self, case, data: dict):
        if not is_positive(case):
            return case
        declared = {p.name for p in case.operation.headers} if hasattr(case.operation, "headers") else set()
        if HEADER in declared or HEADER in (case.headers or {}):
            case.headers = {**(case.headers or {}), HEADER: encoded(os.environ.get(SECRET, ""))}
        if case.meta.phase.name.value != "stateful":
            for name in ("strategySid", "instanceSid"):
                if name in (case.path_parameters or {}) and data.get(name):
                    case.path_parameters[name] = data[name][0]
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
)
