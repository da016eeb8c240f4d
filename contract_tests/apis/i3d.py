"""i3D.net ODP: ``PRIVATE-TOKEN`` auth, fixture-aware task creation, cancel what a run created.

A schema-valid create names a template and instances by id and must carry the template's
requiredParams, which the spec cannot say; positive cases get them from the target itself
(``GET /v3/applicationInstance/task/template``) and the instance ids from ``fixtures/i3d.yaml``
(or ``I3D_INSTANCE_IDS`` on a real target). Positive reads, pauses and cancels of one task
outside the stateful phase address a task that exists and is still running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from contract_tests.apis import Adapter, Creates, Target, Undo, env_value, fixtures, is_positive

TOKEN = "I3D_PRIVATE_TOKEN"
# A second account's token: the run's tasks must stay invisible to it (cross_account_read).
PEER_TOKEN = "I3D_PEER_PRIVATE_TOKEN"
OWNED_READS = {"getApplicationInstanceTask", "getApplicationInstanceTaskBatch"}
PREFIX = "/v3/applicationInstance"
# Values for the requiredParams the shipped templates use (i3D documents methodId and timeout for a
# stop, buildId for a deploy); any other name gets "1".
PARAM_VALUES = {"methodId": "1", "timeout": "60", "buildId": "7001"}
RUNNING = {0, 1, 2}   # resultCode: scheduled, in progress, paused


def _pick(options: list, *key: Any) -> Any:
    """One of ``options``, chosen by ``key`` (reproducible: same case, same choice)."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


class I3D(Adapter):
    def target_headers(self, env: Mapping[str, str]) -> dict[str, str]:
        return {"PRIVATE-TOKEN": env.get(TOKEN, "")}

    def prepare(self, target: Target) -> dict:
        session = self.session(target)
        templates = {}
        answer = session.get(target.url + PREFIX + "/task/template", timeout=30)
        if answer.ok:
            for template in answer.json():
                params = [p for action in template.get("actions", []) for p in action.get("requiredParams", [])]
                templates[str(template["id"])] = list(dict.fromkeys(params))
        if target.is_mock:
            instances = [str(i["id"]) for i in fixtures("i3d").get("instances", [])]
        else:
            instances = [i.strip() for i in env_value("I3D_INSTANCE_IDS").split(",") if i.strip()]
        tasks = session.get(target.url + PREFIX + "/task", timeout=30)
        own = tasks.json() if tasks.ok else []
        batches = session.get(target.url + PREFIX + "/taskBatch", timeout=30)
        # The first task of each batch is what the batch links of the stateful phase reach: the
        # fuzzing phase may pause it but never cancels it, so those sequences find a live task.
        firsts = {b["taskIds"][0] for b in (batches.json() if batches.ok else []) if b.get("taskIds")}
        running = [t["id"] for t in own if t.get("resultCode") in RUNNING] if target.is_mock else []
        return {
            "templates": templates,
            "instances": instances,
            # Only the mock's tasks may be paused or cancelled by the fuzzer: on a real target the
            # account's tasks are someone's work (the stateful phase uses the tasks the run created).
            "running": running,
            "cancellable": [t for t in running if t not in firsts],
            "tasks": [t["id"] for t in own],
            "batches": sorted({t["batchId"] for t in own if "batchId" in t}),
        }

    def map_case(self, case, data: dict):
        if not is_positive(case):
            return case
        operation_id = case.operation.definition.raw.get("operationId")
        if operation_id == "createApplicationInstanceTask" and isinstance(case.body, dict):
            case.body = self._valid_create(case.body, data)
        elif case.meta.phase.name.value != "stateful":   # links supply the ids there
            ids = {"getApplicationInstanceTask": data.get("tasks"),
                   "updateApplicationInstanceTask": data.get("running"),
                   "deleteApplicationInstanceTask": data.get("cancellable"),
                   "getApplicationInstanceTaskBatch": data.get("batches")}.get(operation_id)
            name = "taskBatchId" if operation_id == "getApplicationInstanceTaskBatch" else "taskId"
            if ids and name in (case.path_parameters or {}):
                case.path_parameters[name] = _pick(ids, case.path_parameters[name])
        return case

    def before_call(self, case, data: dict) -> None:
        # The link from the template listing merges {taskTemplateId: <integer id>} into the create
        # body after generation; the text form and that template's requiredParams are set here, in
        # the stateful phase only. Schemathesis revalidates a case a before_call hook edits, so the
        # completed body is judged as the valid request it now is.
        if (case.meta is not None and case.meta.phase.name.value == "stateful"
                and case.operation.definition.raw.get("operationId") == "createApplicationInstanceTask"
                and isinstance(case.body, dict) and isinstance(case.body.get("taskTemplateId"), int)):
            body = self._valid_create({**case.body, "taskTemplateId": str(case.body["taskTemplateId"])}, data)
            case.body.clear()
            case.body.update(body)

    def _valid_create(self, body: dict, data: dict) -> dict:
        templates: dict[str, list[str]] = data.get("templates") or {}
        instances: list[str] = data.get("instances") or []
        if not templates or not instances:
            return body
        body = dict(body)
        template = str(body.get("taskTemplateId"))
        if template not in templates:
            template = _pick(sorted(templates), template)
        body["taskTemplateId"] = template
        for prop in ("fleetId", "regionId", "labels"):
            body.pop(prop, None)
        body["applicationInstanceIds"] = [_pick(instances, repr(body.get("applicationInstanceIds")))]
        given = {p.get("paramName"): p.get("paramValue") for p in body.get("taskActionParam") or []
                 if isinstance(p, dict)}
        body["taskActionParam"] = [{"paramName": name, "paramValue": PARAM_VALUES.get(name, "1")}
                                   for name in templates[template]] + \
                                  [{"paramName": k, "paramValue": v} for k, v in given.items()
                                   if k not in templates[template] and isinstance(k, str) and isinstance(v, str)]
        return body

    def peer_headers(self, case) -> dict[str, str] | None:
        peer = env_value(PEER_TOKEN)
        if not peer or case.operation.definition.raw.get("operationId") not in OWNED_READS:
            return None
        return {"PRIVATE-TOKEN": peer}


adapter = I3D(
    "i3d",
    # the first account of the fixtures (dev-token -> account-1), and the second as the peer
    credentials=dict(zip((TOKEN, PEER_TOKEN), fixtures("i3d")["accounts"], strict=False)),
    optional_credentials={PEER_TOKEN: "the cross_account_read check is skipped (it reads the run's tasks "
                                      "as a second account); every other check runs"},
    auth={"openapi": {"ApiKey": {"api_key": "${" + TOKEN + "}"}}},
    creates={"createApplicationInstanceTask": Creates("task", "/*/taskIds/*")},
    # Cancel (DELETE) each task a run created; a finished or cancelled one (409) needs nothing.
    undo={"task": Undo("DELETE", PREFIX + "/task/{id}", done={200, 404, 409})},
    settings={"phases": {"stateful": {
        # Every link is declared in specs/overlays/i3d-links.yaml. Inference adds one more, from the
        # template listing into the create body, that puts the integer template id into the string
        # field taskTemplateId: every create it makes is schema-invalid, so none reaches a task.
        "inference": {"algorithms": []},
        # A pause or cancel of a finished task is a documented 409, not a broken link: keep every
        # link in play instead of letting calibration starve the ones that often end there.
        "link-calibration": False,
        # Sequences of valid requests reach the tasks; invalid data is the other phases' job.
        "max-steps": 16, "generation": {"max-examples": 400, "mode": "positive"},
    }}},
)
