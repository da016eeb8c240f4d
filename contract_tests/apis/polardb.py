"""Alibaba Cloud PolarDB (RPC): the fixture access key, the read-only actions, created batches.

Everything about the wire -- each case generated on its virtual path ``/rpc/polardb/<Action>`` sent
as ``POST /`` with ``x-acs-action``, ACS3-HMAC-SHA256-signed by the code the mock verifies with,
positive cases naming the seeded ids, the gateway's documented answers where Schemathesis assumes
REST -- is PolarDB's own hooks module, ``mock_server/apis/polardb/contract_hooks.py``, which
``contract_tests.hooks`` loads with every vendor's: this adapter adds no second copy of it.
PolarDB has no action that cancels or deletes a batch: the ones a run creates are listed.
"""

from __future__ import annotations

from contract_tests.apis import Adapter, Creates
from mock_server.apis.polardb.contract_hooks import KEY_ID, KEY_SECRET


class PolarDB(Adapter):
    def read_only(self, method: str, operation: dict) -> bool:
        action = (operation.get("x-rpc") or {}).get("action", operation.get("operationId", ""))
        return action.startswith(("Describe", "List", "Get"))


adapter = PolarDB(
    "polardb",
    credentials={KEY_ID: "testAccessKeyId", KEY_SECRET: "testAccessKeySecret"},
    creates={"CreateBatchTask": Creates("batch", "/BatchId")},
    settings={"phases": {"stateful": {
        # Links between PolarDB actions are the overlay's (specs/overlays/polardb-links.yaml), never
        # inferred from parameter names: in the RPC style one name means unrelated things
        # (DescribeBatchTask's numeric sub-task TaskId is not DescribePolarClawTask's UUID TaskId), so
        # an inferred link sends a schema-invalid value in a case marked positive.
        "inference": {"algorithms": ["location-headers"]},
    }}},
)
