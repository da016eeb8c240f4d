"""Task records: what the stand-in stores for a task, made from a validated CREATE, changed by KILL,
and seeded from fixtures/drove.yaml. A record holds the plan (created, run time, exit code, kill
time); the state is never stored but computed by ``lifecycle.status_of`` at each read.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from mock_server.records import INTEGER, MOMENT, OBJECT, SECONDS, TEXT, array, nullable, obj

from .cluster import Allocation, Cluster, allocation_of
from .lifecycle import ACTIVE, accepts_kill, run_plan, status_of
from .validation import check_spec, required_resources, wire

# The stored record, checked on every admin import (mock_server/snapshot.py): what the renderers,
# the log files and the lifecycle read. The spec is kept as the controller bound it.
RECORD = obj({
    "sourceAppName": TEXT, "taskId": TEXT, "instanceId": TEXT,
    "spec": obj({"sourceAppName": TEXT, "taskId": TEXT, "executable": obj({"url": TEXT})},
                {"env": nullable(OBJECT), "configs": nullable(array(OBJECT))}),
    "allocation": obj({"executorId": TEXT, "hostname": TEXT, "numaNode": TEXT, "cores": array(INTEGER),
                       "memoryMB": INTEGER}),
    "created": MOMENT, "runSeconds": SECONDS, "exitCode": INTEGER, "killedAt": nullable(MOMENT),
})
# What a spec carries that an export must not show: the credentials of a config fetched over
# HTTP (its header values too), an inline config file's content, and environment variables named
# like a secret. The fixture users' passwords are settings, never stored.
SECRETS = ["spec.configs.http.password", "spec.configs.http.authHeader", "spec.configs.http.headers.*",
           "spec.configs.data", *(f"spec.env.*{word}*" for word in ("password", "secret", "token", "_key"))]


def instance_id(seed: int, source_app: str, task_id: str, created: float) -> str:
    """``TI-<uuid>`` (the server: ``"TI-" + UUID.randomUUID()``), here a v4 UUID drawn from the seed."""
    digest = hashlib.sha256(f"{seed}\x1fdrove\x1f{source_app}\x1f{task_id}\x1f{created!r}".encode()).digest()
    return f"TI-{uuid.UUID(bytes=digest[:16], version=4)}"


def new_record(spec: dict, allocation: Allocation, *, created: float, seed: int) -> dict:
    """The stored record of a task accepted by CREATE (``spec`` as bound by validation)."""
    spec = wire(spec)
    run_seconds, exit_code = run_plan(seed, spec["sourceAppName"], spec["taskId"], spec.get("env"))
    return {
        "sourceAppName": spec["sourceAppName"],
        "taskId": spec["taskId"],
        "instanceId": instance_id(seed, spec["sourceAppName"], spec["taskId"], created),
        "spec": spec,
        "allocation": {"executorId": allocation.executor_id, "hostname": allocation.hostname,
                       "numaNode": allocation.numa_node, "cores": list(allocation.cores),
                       "memoryMB": allocation.memory_mb},
        "created": created,
        "runSeconds": run_seconds,
        "exitCode": exit_code,
        "killedAt": None,
    }


def kill(record: dict, now: float) -> dict | None:
    """The record after a KILL at ``now``; None when the controller refuses it (no runner: STOPPED).

    A second KILL, or one after the run ended, is accepted and changes nothing.
    """
    if not accepts_kill(status_of(record, now)):
        return None
    if record.get("killedAt") is not None:
        return record
    return {**record, "killedAt": now}


def in_use(records: list[dict], now: float) -> list[Allocation]:
    """Allocations held by tasks in an active state (resources are freed once STOPPED)."""
    out = []
    for record in records:
        allocation = allocation_of(record)
        if allocation is not None and status_of(record, now).state in ACTIVE:
            out.append(allocation)
    return out


def seed_tasks(settings: dict[str, Any], cluster: Cluster, now: float, seed: int) -> list[dict]:
    """The ``tasks:`` of fixtures/drove.yaml as records, oldest first.

    Each entry: ``spec`` (a TaskSpec, checked like a CREATE), ``createdAgo`` (seconds before
    ``now``) and optionally ``killedAfter`` (seconds after creation). A spec the controller would
    refuse, or one that cannot be placed, is an error in the fixture.
    """
    records: list[dict] = []
    for entry in sorted(settings.get("tasks") or [], key=lambda e: -float(e.get("createdAgo", 0))):
        created = now - float(entry.get("createdAgo", 0))
        busy = in_use(records, created)
        verdict = check_spec(entry["spec"], cluster, busy)
        if not verdict.ok:
            raise ValueError(f"fixtures/drove.yaml: task {entry['spec'].get('taskId')}: {verdict.messages}")
        spec = verdict.bound
        cores, memory = required_resources(spec)
        allocation = cluster.allocate(spec.get("placementPolicy"), cores, memory, busy)
        if allocation is None:
            raise ValueError(f"fixtures/drove.yaml: task {spec['taskId']}: no NUMA node has room")
        record = new_record(spec, allocation, created=created, seed=seed)
        if entry.get("killedAfter") is not None:
            record = kill(record, created + float(entry["killedAfter"])) or record
        records.append(record)
    return records
