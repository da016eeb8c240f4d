"""How the Drove controller checks a task operation or a task spec, with the server's exact messages.

Three phases run in the server's order; each reports everything it finds, and a phase only runs
when the ones before it found nothing:

1. **Binding** (Jackson with Drove's mapper and Dropwizard's fuzzy enums): type ids, enum values,
   numbers, durations, base64. The first problem ends it: ``JsonFailure`` -> 400 ``JSON validation
   failure``. Unknown properties are ignored, enums match case-insensitively (``-``/``.`` = ``_``,
   blanks dropped), type ids (``type``) match exactly.
2. **Bean validation** (Hibernate Validator 6.2 through Dropwizard's ``ConstraintMessage``): every
   violation as ``<property path> <message>``, e.g. ``spec.taskId - Task ID is mandatory``.
3. **Semantic checks** (``TaskEngine.validateTaskSpec``): volume whitelist, command line, devices,
   cluster capacity, LOCAL placement; a missing placement policy is the server's NullPointerException.

The model below is data: each class lists its JSON properties (in declaration order, with their
Java types) and the constraint annotations on them, copied from drove-models.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from .cluster import Allocation, Cluster
from .durations import DurationError, parse_duration

JSON_FAILURE = "JSON validation failure"
COMMAND_FAILURE = "Command validation failure"
SERVER_ERROR = "Unexpected Server error"

_M = "com.phonepe.drove.models"
_DURATION = "io.dropwizard.util.Duration"
_NPE_PLACEMENT = (
    f'Cannot invoke "{_M}.application.placement.PlacementPolicy.accept({_M}.application.placement.'
    f'PlacementPolicyVisitor)" because "policy" is null'
)

# -- the model ------------------------------------------------------------------------------------
ENUMS: dict[str, tuple[str, list[str]]] = {
    "FailureStrategy": (f"{_M}.operation.deploy.FailureStrategy", ["STOP", "ROLLBACK"]),
    "MountMode": (f"{_M}.application.MountedVolume$MountMode", ["READ_WRITE", "READ_ONLY"]),
    "RuleType": (f"{_M}.application.placement.policies.RuleBasedPlacementPolicy$RuleType", ["HOPE", "MVEL"]),
    "CombinerType": (f"{_M}.application.placement.policies.CompositePlacementPolicy$CombinerType", ["AND", "OR"]),
    "Permissions": (f"{_M}.application.devices.DirectDeviceSpec$DirectDevicePermissions",
                    ["READ_ONLY", "WRITE_ONLY", "MKNOD_ONLY", "ALL", "READ_WRITE"]),
    "Protocol": (f"{_M}.common.Protocol", ["HTTP", "HTTPS"]),
    "HTTPVerb": (f"{_M}.common.HTTPVerb", ["GET", "POST", "PUT"]),
}

# Polymorphic bases: Java name, type id -> class, the class used for a missing/unknown id (if any).
BASES: dict[str, tuple[str, dict[str, str], str | None]] = {
    "TaskOperation": (f"{_M}.operation.TaskOperation",
                      {"CREATE": "TaskCreateOperation", "KILL": "TaskKillOperation"}, None),
    "ExecutableCoordinates": (f"{_M}.application.executable.ExecutableCoordinates",
                              {"DOCKER": "DockerCoordinates"}, "DockerCoordinates"),
    "ResourceRequirement": (f"{_M}.application.requirements.ResourceRequirement",
                            {"CPU": "CPURequirement", "MEMORY": "MemoryRequirement"}, None),
    "ConfigSpec": (f"{_M}.config.ConfigSpec",
                   {"INLINE": "InlineConfigSpec", "EXECUTOR_LOCAL_FILE": "ExecutorLocalFileConfigSpec",
                    "CONTROLLER_HTTP_FETCH": "ControllerHttpFetchConfigSpec",
                    "EXECUTOR_HTTP_FETCH": "ExecutorHttpFetchConfigSpec"}, None),
    "LoggingSpec": (f"{_M}.application.logging.LoggingSpec",
                    {"LOCAL": "LocalLoggingSpec", "RSYSLOG": "RsyslogLoggingSpec"}, None),
    "PlacementPolicy": (f"{_M}.application.placement.PlacementPolicy",
                        {"ONE_PER_HOST": "OnePerHost", "MAX_N_PER_HOST": "MaxNPerHost", "MATCH_TAG": "MatchTag",
                         "NO_TAG": "NoTag", "RULE_BASED": "RuleBased", "ANY": "AnyPlacement",
                         "COMPOSITE": "Composite", "LOCAL": "LocalPlacement"}, None),
    "DeviceSpec": (f"{_M}.application.devices.DeviceSpec",
                   {"DIRECT": "DirectDeviceSpec", "DETAILED": "DetailedDeviceSpec"}, None),
}

_ID_MSG = "- Only characters, numbers, hyphen and underscore is allowed"
_ID_PATTERN = r"[a-zA-Z\d\-_]*"

# Kinds: ("str",) ("int",) ("long",) ("Integer",) ("bool",) ("duration",) ("bytes",) ("map",)
# ("enum", name) ("obj", class) ("poly", base) ("list", kind) ("set", kind).
# Constraints: ("not_empty"|"not_null", message|None) ("pattern", regexp, message) ("min"|"max", n, message|None)
# ("size_max", n) ("valid",) - the last one cascades (@Valid).
CLASSES: dict[str, dict[str, Any]] = {
    "TaskCreateOperation": {"type": "CREATE", "fields": {
        "spec": (("obj", "TaskSpec"), [("not_null", None), ("valid",)]),
        "opSpec": (("obj", "ClusterOpSpec"), [("not_null", None), ("valid",)]),
    }},
    "TaskKillOperation": {"type": "KILL", "fields": {
        "sourceAppName": (("str",), [("not_empty", None)]),
        "taskId": (("str",), [("not_empty", None)]),
        "opSpec": (("obj", "ClusterOpSpec"), [("not_null", None), ("valid",)]),
    }},
    "ClusterOpSpec": {"java": f"{_M}.operation.ClusterOpSpec", "fields": {
        "timeout": (("duration",), [("not_null", None)]),
        "parallelism": (("int",), [("min", 1, None), ("max", 512, None)]),
        "failureStrategy": (("enum", "FailureStrategy"), [("not_null", None)]),
    }},
    "TaskSpec": {"java": f"{_M}.task.TaskSpec", "fields": {
        "sourceAppName": (("str",), [("not_empty", "- Source Application name is mandatory"),
                                     ("pattern", _ID_PATTERN, _ID_MSG)]),
        "taskId": (("str",), [("not_empty", "- Task ID is mandatory"), ("pattern", _ID_PATTERN, _ID_MSG)]),
        "executable": (("poly", "ExecutableCoordinates"), [("not_null", "- Executable details is required"),
                                                           ("valid",)]),
        "volumes": (("list", ("obj", "MountedVolume")), [("valid",)]),
        "configs": (("list", ("poly", "ConfigSpec")), [("valid",)]),
        "logging": (("poly", "LoggingSpec"), [("valid",)]),
        "resources": (("list", ("poly", "ResourceRequirement")),
                      [("not_empty", "- CPU/Memory requirements must be specified"), ("valid",)]),
        "placementPolicy": (("poly", "PlacementPolicy"), [("valid",)]),
        "tags": (("map",), []),
        "env": (("map",), []),
        "args": (("list", ("str",)), [("size_max", 2048)]),
        "devices": (("list", ("poly", "DeviceSpec")), []),
        "userSpec": (("obj", "UserSpec"), [("valid",)]),
    }},
    "DockerCoordinates": {"type": "DOCKER", "java": f"{_M}.application.executable.DockerCoordinates", "fields": {
        "url": (("str",), [("not_empty", "- Specify url for container")]),
        "dockerPullTimeout": (("duration",), [("not_null", "- Specify container fetch (docker pull) timeout")]),
    }},
    "MountedVolume": {"java": f"{_M}.application.MountedVolume", "fields": {
        "pathInContainer": (("str",), [("not_empty", "- Provide mount path inside container")]),
        "pathOnHost": (("str",), [("not_empty", "- Provide host directory to mount")]),
        "mode": (("enum", "MountMode"), [("not_null", "- Specify whether mount is read-only or read-write")]),
    }},
    "InlineConfigSpec": {"type": "INLINE", "fields": {
        "localFilename": (("str",), [("not_empty", None)]),
        "data": (("bytes",), [("not_empty", None)]),
    }},
    "ExecutorLocalFileConfigSpec": {"type": "EXECUTOR_LOCAL_FILE", "fields": {
        "localFilename": (("str",), [("not_empty", None)]),
        "filePathOnHost": (("str",), []),
    }},
    "ControllerHttpFetchConfigSpec": {"type": "CONTROLLER_HTTP_FETCH", "fields": {
        "localFilename": (("str",), [("not_empty", None)]),
        "http": (("obj", "HTTPCallSpec"), [("not_null", None)]),  # no @Valid: HTTPCallSpec is not checked
    }},
    "ExecutorHttpFetchConfigSpec": {"type": "EXECUTOR_HTTP_FETCH", "fields": {
        "localFilename": (("str",), [("not_empty", None)]),
        "http": (("obj", "HTTPCallSpec"), [("not_null", None)]),
    }},
    "HTTPCallSpec": {"java": f"{_M}.common.HTTPCallSpec", "fields": {
        "protocol": (("enum", "Protocol"), []), "hostname": (("str",), []), "port": (("int",), []),
        "path": (("str",), []), "verb": (("enum", "HTTPVerb"), []), "successCodes": (("set", ("Integer",)), []),
        "payload": (("str",), []), "connectionTimeout": (("duration",), []),
        "operationTimeout": (("duration",), []), "username": (("str",), []), "password": (("str",), []),
        "authHeader": (("str",), []), "headers": (("map",), []), "insecure": (("bool",), []),
    }},
    "LocalLoggingSpec": {"type": "LOCAL", "fields": {
        "maxSize": (("str",), [("not_empty", "- Specify max size of logs. Use 10m, 1g etc. Files bigger than "
                                             "this will be rotated")]),
        "maxFiles": (("int",), [("min", 1, "- At least one log will be present, so min value is 1"),
                                ("max", 100, "- Maximum 100 log files can be retained")]),
        "compress": (("bool",), []),
    }},
    "RsyslogLoggingSpec": {"type": "RSYSLOG", "fields": {
        "server": (("str",), [("not_empty", "- Rsyslog server url should be passed here")]),
        "tagPrefix": (("str",), []),
        "tagSuffix": (("str",), []),
    }},
    "CPURequirement": {"type": "CPU", "fields": {"count": (("long",), [])}},
    "MemoryRequirement": {"type": "MEMORY", "fields": {"sizeInMB": (("long",), [])}},
    "OnePerHost": {"type": "ONE_PER_HOST", "fields": {}},
    "MaxNPerHost": {"type": "MAX_N_PER_HOST", "fields": {
        "max": (("int",), [("min", 1, "- Min one hose needs to be specified"),
                           ("max", 64, "- Maximum 64 containers can be specified per host")]),
    }},
    "MatchTag": {"type": "MATCH_TAG", "fields": {"tag": (("str",), [("not_empty", "- Tag is mandatory")])}},
    "NoTag": {"type": "NO_TAG", "fields": {}},
    "RuleBased": {"type": "RULE_BASED", "fields": {
        "rule": (("str",), [("not_empty", "- Specify a rule to select/reject node based")]),
        "ruleType": (("enum", "RuleType"), [("not_null", None)]),
    }},
    "AnyPlacement": {"type": "ANY", "fields": {}},
    "Composite": {"type": "COMPOSITE", "fields": {
        # no @Valid on the list: the combined policies are not bean-validated
        "policies": (("list", ("poly", "PlacementPolicy")),
                     [("not_empty", "- Specify one or more policies to combine")]),
        "combiner": (("enum", "CombinerType"), []),
    }},
    "LocalPlacement": {"type": "LOCAL", "fields": {"hostLevel": (("bool",), [])}},
    "DirectDeviceSpec": {"type": "DIRECT", "fields": {
        "pathOnHost": (("str",), [("not_empty", None)]), "pathInContainer": (("str",), []),
        "permissions": (("enum", "Permissions"), []),
    }},
    "DetailedDeviceSpec": {"type": "DETAILED", "fields": {
        "driver": (("str",), []), "count": (("Integer",), []), "deviceIds": (("list", ("str",)), []),
        "capabilities": (("list", ("list", ("str",))), []), "options": (("map",), []),
    }},
    "UserSpec": {"java": f"{_M}.application.nonroot.UserSpec", "fields": {
        "user": (("str",), [("not_empty", None)]), "group": (("str",), []),
    }},
}

# Hibernate Validator 6.2 default messages.
_DEFAULT = {"not_empty": "must not be empty", "not_null": "must not be null",
            "min": "must be greater than or equal to {n}", "max": "must be less than or equal to {n}"}
_PRIMITIVE_DEFAULT = {"int": 0, "long": 0, "bool": False}
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "Integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_JAVA_SCALAR = {"str": "java.lang.String", "int": "int", "long": "long", "Integer": "java.lang.Integer",
                "bool": "boolean", "bytes": "byte[]", "duration": _DURATION}


# -- outcomes -------------------------------------------------------------------------------------
class JsonFailure(Exception):
    """Jackson could not bind the body: 400, message ``JSON validation failure``, one entry."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Verdict:
    """What the controller answers for an operation or spec, before any store lookup.

    ``status`` 200 (valid: ``bound`` holds the body as the server bound it), 400 (``messages``, with ``message``
    ``JSON validation failure`` or ``Command validation failure``) or 500 (``messages`` = [the
    exception text], ``message`` ``Unexpected Server error``).
    """

    status: int
    message: str = "success"
    messages: list[str] = field(default_factory=list)
    bound: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


def check_operation(body: Any, cluster: Cluster, in_use: list[Allocation]) -> Verdict:
    """``POST /apis/v1/tasks/operations`` up to (not including) the duplicate / kill-target checks."""
    return _check(body, "TaskOperation", cluster, in_use)


def check_spec(body: Any, cluster: Cluster, in_use: list[Allocation]) -> Verdict:
    """``POST /apis/v1/tasks/validate/spec`` (the same checks as CREATE, minus the duplicate check)."""
    return _check(body, "TaskSpec", cluster, in_use)


def _check(body: Any, root: str, cluster: Cluster, in_use: list[Allocation]) -> Verdict:
    if body is None:  # empty body: Jackson yields null, then @NotNull on the resource parameter
        return Verdict(400, COMMAND_FAILURE, ["The request body must not be null"])
    try:
        bound = _bind(body, ("poly", root) if root in BASES else ("obj", root), None)
    except JsonFailure as e:
        return Verdict(400, JSON_FAILURE, [e.message])
    violations = bean_violations(bound, _class_of(bound, root))
    if violations:
        return Verdict(400, COMMAND_FAILURE, violations)
    spec = bound if root == "TaskSpec" else bound.get("spec")
    if spec is not None:
        if spec.get("placementPolicy") is None and cluster.options.missing_placement_policy_fails:
            return Verdict(500, SERVER_ERROR, [_NPE_PLACEMENT])
        errors = semantic_errors(spec, cluster, in_use)
        if errors:
            return Verdict(400, COMMAND_FAILURE, errors)
    return Verdict(200, bound=bound)


def duplicate_message(source_app: str, task_id: str) -> str:
    return f"Task already exists for {source_app}/{task_id} with taskID: {source_app}-{task_id}"


def kill_target_message(source_app: str, task_id: str) -> str:
    return f"Either task does not exist or has already finished for {source_app}/{task_id}"


def search_violations(app: str | None, task_id: str | None) -> list[str]:
    """``POST /apis/v1/tasks/search`` form fields: @NotEmpty and @Pattern on each (default messages)."""
    out = []
    for name, value in (("taskSearchAppName", app), ("taskSearchTaskID", task_id)):
        if not value:
            out.append(f"form field {name} must not be empty")
        elif not re.fullmatch(_ID_PATTERN, value, re.ASCII):
            out.append(f'form field {name} must match "{_ID_PATTERN}"')
    return out


def log_read_violations(offset: int, length: int) -> list[str]:
    """``.../read/{file}``: @Min(-1) on ``offset`` and ``length`` (path params are only @NotEmpty)."""
    return [f"query param {name} must be greater than or equal to -1"
            for name, value in (("offset", offset), ("length", length)) if value < -1]


# -- phase 1: binding -----------------------------------------------------------------------------
def _java(kind: tuple) -> str:
    tag = kind[0]
    if tag in _JAVA_SCALAR:
        return _JAVA_SCALAR[tag]
    if tag == "map":
        return "java.util.LinkedHashMap<java.lang.String,java.lang.String>"
    if tag == "enum":
        return ENUMS[kind[1]][0]
    if tag == "poly":
        return BASES[kind[1]][0]
    if tag == "obj":
        spec = CLASSES[kind[1]]
        return spec.get("java") or f"{_M}.{kind[1]}"
    container = "java.util.ArrayList" if tag == "list" else "java.util.HashSet"
    return f"{container}<{_java(kind[1])}>"


def _token(value: Any) -> str:
    if isinstance(value, dict):
        return "Object value (token `JsonToken.START_OBJECT`)"
    if isinstance(value, list):
        return "Array value (token `JsonToken.START_ARRAY`)"
    if isinstance(value, bool):
        return f"Boolean value (token `JsonToken.VALUE_{'TRUE' if value else 'FALSE'}`)"
    if isinstance(value, int):
        return "Integer value (token `JsonToken.VALUE_NUMBER_INT`)"
    if isinstance(value, float):
        return "Floating-point value (token `JsonToken.VALUE_NUMBER_FLOAT`)"
    return "String value (token `JsonToken.VALUE_STRING`)"


def _unexpected(kind: tuple, value: Any) -> JsonFailure:
    return JsonFailure(f"Cannot deserialize value of type `{_java(kind)}` from {_token(value)}")


def _text(value: Any) -> str:
    """A JSON scalar as Jackson's ``getText()`` / ``getValueAsString()`` writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _no_creator(java: str, value: Any) -> JsonFailure:
    if isinstance(value, bool):
        what = f"boolean/Boolean-argument constructor/factory method to deserialize from Boolean value ({_text(value)})"
    elif isinstance(value, int):
        what = f"int/Int-argument constructor/factory method to deserialize from Number value ({value})"
    elif isinstance(value, float):
        what = f"double/Double-argument constructor/factory method to deserialize from Number value ({value})"
    else:
        what = f"String-argument constructor/factory method to deserialize from String value ('{value}')"
    return JsonFailure(f"Cannot construct instance of `{java}` (although at least one Creator exists): no {what}")


def _bind(value: Any, kind: tuple, prop: str | None) -> Any:
    """Bind one JSON value the way Jackson would; returns the canonical value or raises JsonFailure."""
    if value is None:
        return _PRIMITIVE_DEFAULT.get(kind[0])
    tag = kind[0]
    if tag == "str":
        if isinstance(value, dict | list):
            raise _unexpected(kind, value)
        return _text(value)
    if tag in _INT_RANGE:
        return _bind_integer(value, kind)
    if tag == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, int) and not isinstance(value, bool):
            return value != 0
        if isinstance(value, str):
            raise JsonFailure(f'Cannot deserialize value of type `boolean` from String "{value}": '
                              "only \"true\" or \"false\" recognized")
        raise _unexpected(kind, value)
    if tag == "duration":
        if isinstance(value, dict | list):
            raise _unexpected(kind, value)
        if not isinstance(value, str):
            raise _no_creator(_DURATION, value)
        try:
            return parse_duration(value).render()
        except DurationError as e:
            raise JsonFailure(f"Cannot construct instance of `{_DURATION}`, problem: {e}") from None
    if tag == "bytes":
        return _bind_bytes(value)
    if tag == "enum":
        return _bind_enum(value, kind[1])
    if tag == "map":
        if not isinstance(value, dict):
            raise _unexpected(kind, value)
        return {k: _bind(v, ("str",), k) for k, v in value.items()}
    if tag in ("list", "set"):
        if not isinstance(value, list):
            raise _unexpected(kind, value)
        return [_bind(item, kind[1], prop) for item in value]
    if tag == "poly":
        return _bind_poly(value, kind[1], prop)
    return _bind_object(value, kind[1])


def _bind_integer(value: Any, kind: tuple) -> int:
    java = _java(kind)
    low, high = _INT_RANGE[kind[0]]
    if isinstance(value, bool | dict | list):
        raise _unexpected(kind, value)
    if isinstance(value, float):
        number = int(value)  # ACCEPT_FLOAT_AS_INT: truncated
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise JsonFailure(f'Cannot deserialize value of type `{java}` from String "{value}": '
                              f"not a valid `{java}` value")
        number = int(text)
    else:
        number = value
    if not low <= number <= high:
        name = "int" if kind[0] != "long" else "long"
        raise JsonFailure(f"Numeric value ({number}) out of range of {name} ({low} - {high})")
    return number


def _bind_bytes(value: Any) -> str:
    if not isinstance(value, str):
        raise _unexpected(("bytes",), value)
    prefix = f'Cannot deserialize value of type `byte[]` from String "{value}": Failed to decode VALUE_STRING as ' \
             "base64 (MIME-NO-LINEFEEDS): "
    bad = re.search(r"[^A-Za-z0-9+/=]", value)
    if bad:
        ch = bad.group()
        raise JsonFailure(f"{prefix}Illegal character '{ch}' (code 0x{ord(ch):x}) in base64 content")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise JsonFailure(f"{prefix}Unexpected end of base64-encoded String: base64 variant 'MIME-NO-LINEFEEDS' "
                          "expects padding (one or more '=' characters) at the end") from None
    return value


def _bind_enum(value: Any, name: str) -> str:
    java, constants = ENUMS[name]
    if isinstance(value, dict | list):
        raise _unexpected(("enum", name), value)
    text = _text(value)
    fuzzy = re.sub(r"\s+", "", text).replace("-", "_").replace(".", "_")
    for constant in constants:
        if constant.lower() == fuzzy.lower() or constant.lower() == text.lower():
            return constant
    raise JsonFailure(f'Cannot deserialize value of type `{java}` from String "{text}": '
                      f"{text} was not one of [{', '.join(constants)}]")


def _bind_poly(value: Any, base: str, prop: str | None) -> dict:
    java, ids, default = BASES[base]
    where = f" (for POJO property '{prop}')" if prop else ""
    type_id = value.get("type") if isinstance(value, dict) else None
    if isinstance(type_id, dict | list):
        type_id = None
    if type_id is None:
        if default is None:
            raise JsonFailure(f"Missing type id when trying to resolve subtype of [simple type, class {java}]: "
                              f"missing type id property 'type'{where}")
        cls = default
    elif _text(type_id) in ids:
        cls = ids[_text(type_id)]
    elif default is not None:
        cls = default
    else:
        known = ", ".join(sorted(ids))
        raise JsonFailure(f"Could not resolve type id '{_text(type_id)}' as a subtype of `{java}`: "
                          f"known type ids = [{known}]{where}")
    if not isinstance(value, dict):  # only the executable gets here (its type has a default)
        raise _no_creator(_java(("obj", cls)), value)
    return _bind_object(value, cls)


def _bind_object(value: Any, cls: str) -> dict:
    spec = CLASSES[cls]
    if not isinstance(value, dict):
        if isinstance(value, list):
            raise _unexpected(("obj", cls), value)
        raise _no_creator(_java(("obj", cls)), value)
    fields = spec["fields"]
    out: dict[str, Any] = {"type": spec["type"]} if "type" in spec else {}
    for name, (kind, _) in fields.items():
        out[name] = _PRIMITIVE_DEFAULT.get(kind[0])
    for name, raw in value.items():  # document order, like the parser: the first problem wins
        if name in fields:
            out[name] = _bind(raw, fields[name][0], name)
    out["__class__"] = cls
    return out


# -- phase 2: bean validation ---------------------------------------------------------------------
def _class_of(bound: dict, root: str) -> str:
    return bound.get("__class__", root)


def bean_violations(bound: dict, cls: str, path: str = "") -> list[str]:
    """Every violated constraint, ``<path> <message>``, in declaration order (the server's order is a
    HashSet's: unspecified)."""
    out: list[str] = []
    for name, (_, constraints) in CLASSES[cls]["fields"].items():
        value = bound.get(name)
        where = f"{path}{name}"
        for constraint in constraints:
            rule = constraint[0]
            if rule == "valid":
                out.extend(_cascade(value, where))
                continue
            message = _violation(rule, constraint[1:], value)
            if message is not None:
                out.append(f"{where} {message}")
    return out


def _violation(rule: str, args: tuple, value: Any) -> str | None:
    if rule == "not_null":
        return (args[0] or _DEFAULT["not_null"]) if value is None else None
    if rule == "not_empty":
        return (args[0] or _DEFAULT["not_empty"]) if value is None or len(value) == 0 else None
    if rule == "pattern":
        regexp, message = args
        return message if value is not None and not re.fullmatch(regexp, value, re.ASCII) else None
    if rule in ("min", "max"):
        limit, message = args
        broken = value < limit if rule == "min" else value > limit
        return (message or _DEFAULT[rule].format(n=limit)) if broken else None
    if rule == "size_max":
        return f"size must be between 0 and {args[0]}" if value is not None and len(value) > args[0] else None
    raise ValueError(f"unknown constraint {rule}")


def _cascade(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):  # null elements are skipped by @Valid
                out.extend(bean_violations(item, item["__class__"], f"{where}[{i}]."))
        return out
    return bean_violations(value, value["__class__"], f"{where}.")


# -- phase 3: semantic checks ---------------------------------------------------------------------
def semantic_errors(spec: dict, cluster: Cluster, in_use: list[Allocation]) -> list[str]:
    """``TaskEngine.validateTaskSpec``: every problem, in the server's order."""
    options = cluster.options
    errors: list[str] = []
    if spec.get("volumes") and options.allowed_mount_dirs:
        errors.extend(f"Volume mount requested on non whitelisted host directory: {v['pathOnHost']}"
                      for v in spec["volumes"] if v is not None
                      and not any(v["pathOnHost"].startswith(d) for d in options.allowed_mount_dirs))
    args = spec.get("args") or []
    if options.disable_cmdl_args and args:
        errors.append("Passing command line to containers is disabled on this cluster")
    elif len(" ".join(str(a) for a in args)) > 2048:
        errors.append("Maximum combined length of command line arguments can be 2048")
    if not options.enable_raw_device_access and spec.get("devices"):
        errors.append("Device access is disabled. To enable, set enableRawDeviceAccess: true in controller options.")
    errors.extend(_capacity_errors(spec, cluster, in_use))
    if _has_local_policy(spec.get("placementPolicy")):
        errors.append("Local service placement is not allowed for tasks")
    return errors


def required_resources(spec: dict) -> tuple[int, int]:
    """(cores, MB) a spec asks for: the sums over its CPU and MEMORY entries."""
    resources = [r for r in spec.get("resources") or [] if r is not None]
    cores = sum(r["count"] for r in resources if r["type"] == "CPU")
    memory = sum(r["sizeInMB"] for r in resources if r["type"] == "MEMORY")
    return cores, memory


def _capacity_errors(spec: dict, cluster: Cluster, in_use: list[Allocation]) -> list[str]:
    cores, memory = required_resources(spec)
    # The server narrows the core sum to a Java int: keep the same wrap-around.
    cores = (cores + 2**31) % 2**32 - 2**31
    free_cores, free_memory, largest = cluster.capacity(spec.get("placementPolicy"), in_use)
    errors = []
    if cores > free_cores:
        errors.append(f"Cluster does not have enough CPU. Required: {cores} Available: {free_cores}")
    if memory > free_memory:
        errors.append(f"Cluster does not have enough Memory. Required: {memory} Available: {free_memory}")
    if largest is not None and largest < cores:
        errors.append("Required cores exceeds the maximum core available on a single NUMA node in the cluster. "
                      f"Required: {cores} Max: {largest}")
    return errors


def _has_local_policy(policy: dict | None) -> bool:
    if policy is None:
        return False
    if policy["type"] == "COMPOSITE":
        return any(_has_local_policy(p) for p in policy.get("policies") or [] if p is not None)
    return policy["type"] == "LOCAL"


# -- the bound value as the server writes it back -------------------------------------------------
def wire(value: Any) -> Any:
    """A bound value as Drove's mapper writes it: nulls omitted, empty maps and lists kept."""
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items() if v is not None and k != "__class__"}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value
