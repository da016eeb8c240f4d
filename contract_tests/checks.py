"""The harness' own Schemathesis check, registered the Schemathesis way (``@schemathesis.check``) and
imported by ``contract_tests.hooks``: ``cross_account_read``.

Schemathesis' ``object_level_authorization`` needs its peers from a WFC auth file and only probes
values its pool drew from the owner's earlier requests; the harness already knows a second
account for each API that has one (the adapter's ``peer_headers``), so this check replays every
successful read of an owned object as that account and fails when the peer gets the same object.
An API without a second account (no ``peer_headers``) is not probed.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

from contract_tests import apis

ADAPTER = apis.get(os.environ.get("CONTRACT_TESTS_API", ""))
_session = requests.Session()
_session.trust_env = False   # loopback stays loopback


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@schemathesis.check
def cross_account_read(ctx: Any, response: Any, case: Any) -> bool | None:
    """A read that the run's account answered 200 must not answer another account the same object."""
    if case.method.upper() != "GET" or response.status_code != 200:
        return None
    peer = ADAPTER.peer_headers(case)
    if not peer:
        return None
    kwargs = case.as_transport_kwargs(base_url=case.operation.base_url or case.operation.schema.get_base_url())
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() not in {h.lower() for h in peer}}
    answer = _session.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                              headers={**headers, **peer}, timeout=30)
    owned = _body(response)
    if answer.status_code == 200 and owned is not None and _body(answer) == owned:
        raise AssertionError(
            f"Another account read this object: {case.method.upper()} {case.formatted_path} answered the "
            f"run's account 200 and the peer account 200 with the same body (expected the vendor's "
            f"not-found/forbidden answer)")
    return None
