"""bolttech subscription-service: Bearer + ``Strategy-Secret``, cancel created instances.

``BOLTTECH_STRATEGY_SECRET`` is the plain secret; the header carries it base64-encoded, and positive
cases get it (the spec cannot say which secret belongs to a strategy). Which sids exist and what a
strategy body needs to be accepted is bolttech's own generation knowledge,
``mock_server/apis/bolttech/contract_hooks.py``, loaded with every vendor's hooks. Strategies have
no delete in the API: the ones a run creates on a real target are listed, not removed.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from contract_tests.apis import Adapter, Creates, Undo, fixtures, is_positive

BEARER, SECRET = "BOLTTECH_BEARER", "BOLTTECH_STRATEGY_SECRET"
HEADER = "Strategy-Secret"


def encoded(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode() if secret else ""


class Bolttech(Adapter):
    def target_headers(self, env: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {env.get(BEARER, '')}", HEADER: encoded(env.get(SECRET, ""))}

    def map_case(self, case, data: dict):
        if not is_positive(case):
            return case
        declared = {p.name for p in case.operation.headers} if hasattr(case.operation, "headers") else set()
        if HEADER in declared or HEADER in (case.headers or {}):
            case.headers = {**(case.headers or {}), HEADER: encoded(os.environ.get(SECRET, ""))}
        return case


def _mock_credentials() -> dict[str, str]:
    seed = fixtures("bolttech")
    bearer = (seed.get("bearerTokens") or ["dev-bearer"])[0]
    secret = next((s["secret"] for s in seed.get("strategies") or [] if s.get("secret")), "dev-secret")
    return {BEARER: bearer, SECRET: secret}


adapter = Bolttech(
    "bolttech",
    credentials=_mock_credentials(),
    auth={"openapi": {"bearerAuth": {"bearer": "${" + BEARER + "}"}}},
    # 15 operations whose coverage phase alone sends ~1,000 cases: 10 fuzzed examples each keep the
    # run within the four-API budget (60 s against the mock) without losing a link or a warning figure.
    max_examples=10,
    creates={"ExecutionInstanceController_create": Creates("instance", "/executionInstance/sid"),
             "ExecutionStrategyController_create": Creates("strategy", "/sid")},
    # A cancelled (409) or unknown (404) instance needs nothing more.
    undo={"instance": Undo("POST", "/execution-instance/{id}/cancel", done={200, 404, 409})},
    settings={"phases": {"stateful": {
        # A cancel of a cancelled instance or a resume of a running event is bolttech's documented
        # 409, not a broken link: keep every link in play instead of letting calibration starve them.
        "link-calibration": False,
        # Sequences of valid requests reach the instances and events; invalid data is the other phases' job.
        # Twenty steps a scenario: a scenario's first calls are capped per root, so longer ones reach
        # the links three and four steps deep (instance -> its strategy -> a new instance on it).
        "max-steps": 20, "generation": {"max-examples": 30, "mode": "positive"},
    }}},
)
