"""The Schemathesis hooks module of a harness run: one API's adapter, plugged into Schemathesis.

Schemathesis imports it (``hooks = "contract_tests.hooks"`` in the generated config) in the run's
own process. ``CONTRACT_TESTS_API`` names the adapter, ``CONTRACT_TESTS_DATA`` is the JSON its
``prepare`` wrote, ``CONTRACT_TESTS_CREATED`` the file ``created`` resources are appended to (one
JSON line each) for the harness' cleanup.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import schemathesis

from contract_tests import apis, checks, vendor_hooks  # noqa: F401 - importing registers our check, every vendor's hooks

ADAPTER = apis.get(os.environ.get("CONTRACT_TESTS_API", ""))
DATA: dict = json.loads(Path(os.environ["CONTRACT_TESTS_DATA"]).read_text()) if os.environ.get(
    "CONTRACT_TESTS_DATA") else {}
CREATED = Path(os.environ["CONTRACT_TESTS_CREATED"]) if os.environ.get("CONTRACT_TESTS_CREATED") else None
_lock = threading.Lock()


@schemathesis.hook
def map_case(context, case):
    return ADAPTER.map_case(case, DATA)


@schemathesis.hook
def before_call(context, case, kwargs):
    ADAPTER.before_call(case, DATA)


@schemathesis.hook
def after_call(context, case, response):
    if CREATED is None:
        return
    resources = ADAPTER.created(case, response)
    if resources:
        with _lock, CREATED.open("a") as out:
            for resource in resources:
                out.write(json.dumps(resource.to_json()) + "\n")
