"""The mock Drove cluster: executors with NUMA nodes, what is free, and where a new task lands.

Mirrors ``ControllerUtils.checkResources`` (free cores/memory summed over the executors the task's
effective placement policy allows; the largest NUMA node's core count) and hands out cores and
memory on one NUMA node of one executor, first fit, lowest core ids first.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

# PlacementPolicy types that may be combined with NO_TAG (ControllerUtils.shouldAllowCombiningOfPolicy).
_COMBINABLE = {"MATCH_TAG", "RULE_BASED"}


@dataclass(frozen=True)
class NumaNode:
    cores: tuple[int, ...]
    memory_mb: int


@dataclass(frozen=True)
class Executor:
    hostname: str
    port: int
    tags: frozenset[str]
    numa: dict[str, NumaNode]

    @property
    def executor_id(self) -> str:
        """``CommonUtils.executorId``: ``UUID.nameUUIDFromBytes("<hostname>:<port>")`` (a v3 UUID)."""
        digest = hashlib.md5(f"{self.hostname}:{self.port}".encode()).digest()
        return str(uuid.UUID(bytes=digest, version=3))


@dataclass(frozen=True)
class Options:
    """The controller options the task checks read (``ControllerOptions``)."""

    allowed_mount_dirs: tuple[str, ...] = ()
    disable_cmdl_args: bool = False
    enable_raw_device_access: bool = False
    # TaskEngine calls hasLocalPolicy(spec.placementPolicy) without a null check: no policy -> NPE -> 500.
    # Off by default (the mock's choice, specs/notes/drove.md): a spec without a policy is placed as ANY.
    missing_placement_policy_fails: bool = False


@dataclass(frozen=True)
class Allocation:
    """Where a task runs: ``resources`` of its TaskInfo are built from this."""

    executor_id: str
    hostname: str
    numa_node: str
    cores: tuple[int, ...]
    memory_mb: int

    def resources(self) -> list[dict]:
        return [{"type": "CPU", "cores": {self.numa_node: list(self.cores)}},
                {"type": "MEMORY", "memoryInMB": {self.numa_node: self.memory_mb}}]


@dataclass
class Cluster:
    executors: list[Executor]
    options: Options = field(default_factory=Options)
    log_path: str = "/var/log/drove/drove-executor"

    @classmethod
    def from_settings(cls, settings: dict) -> Cluster:
        """``cluster:`` of fixtures/drove.yaml."""
        executors = [
            Executor(hostname=e["hostname"], port=int(e.get("port", 3000)), tags=frozenset(e.get("tags") or ()),
                     numa={str(k): NumaNode(tuple(v["cores"]), int(v["memoryMB"])) for k, v in e["numaNodes"].items()})
            for e in settings.get("executors") or []
        ]
        o = settings.get("options") or {}
        options = Options(
            allowed_mount_dirs=tuple(o.get("allowedMountDirs") or ()),
            disable_cmdl_args=bool(o.get("disableCmdlArgs", False)),
            enable_raw_device_access=bool(o.get("enableRawDeviceAccess", False)),
            missing_placement_policy_fails=bool(o.get("missingPlacementPolicyFails", False)),
        )
        return cls(executors, options, settings.get("logPath", cls.log_path))

    def executor(self, executor_id: str) -> Executor | None:
        return next((e for e in self.executors if e.executor_id == executor_id), None)

    # -- placement --------------------------------------------------------------------------------
    def eligible(self, policy: dict | None) -> list[Executor]:
        """Executors the task's effective placement policy admits (computeEffectivePlacementPolicy)."""
        policy = policy or {"type": "ANY"}
        if not _combinable(policy):
            policy = {"type": "COMPOSITE", "combiner": "AND", "policies": [policy, {"type": "NO_TAG"}]}
        return [e for e in self.executors if _admits(e, policy)]

    def free(self, in_use: list[Allocation]) -> dict[str, dict[str, tuple[set[int], int]]]:
        """executor id -> NUMA node -> (free core ids, free MB), given the allocations of active tasks."""
        out = {e.executor_id: {n: (set(node.cores), node.memory_mb) for n, node in e.numa.items()}
               for e in self.executors}
        for a in in_use:
            node = out.get(a.executor_id, {}).get(a.numa_node)
            if node is not None:
                cores, mem = node
                out[a.executor_id][a.numa_node] = (cores - set(a.cores), mem - a.memory_mb)
        return out

    def capacity(self, policy: dict | None, in_use: list[Allocation]) -> tuple[int, int, int | None]:
        """(free cores, free MB, largest NUMA node core count or None) over the eligible executors."""
        eligible = self.eligible(policy)
        free = self.free(in_use)
        cores = sum(len(c) for e in eligible for c, _ in free[e.executor_id].values())
        memory = sum(m for e in eligible for _, m in free[e.executor_id].values())
        largest = max((len(n.cores) for e in eligible for n in e.numa.values()), default=None)
        return cores, memory, largest

    def allocate(self, policy: dict | None, cores: int, memory_mb: int, in_use: list[Allocation]) -> Allocation | None:
        """First fit on one NUMA node; None when no single node has room (the start job never places it)."""
        free = self.free(in_use)
        for e in self.eligible(policy):
            for name in sorted(e.numa, key=int):
                free_cores, free_mem = free[e.executor_id][name]
                if len(free_cores) >= cores and free_mem >= memory_mb:
                    return Allocation(e.executor_id, e.hostname, name, tuple(sorted(free_cores)[:max(cores, 0)]),
                                      memory_mb)
        return None


def _combinable(policy: dict) -> bool:
    if policy.get("type") == "COMPOSITE":
        return any(_combinable(p) for p in policy.get("policies") or [] if isinstance(p, dict))
    return policy.get("type") in _COMBINABLE


def _admits(executor: Executor, policy: dict) -> bool:
    kind = policy.get("type")
    if kind == "MATCH_TAG":
        return policy.get("tag") in executor.tags
    if kind == "NO_TAG":
        return not (executor.tags - {executor.hostname})
    if kind == "COMPOSITE":
        parts = [p for p in policy.get("policies") or [] if isinstance(p, dict)]
        test = any if policy.get("combiner") == "OR" else all
        return test(_admits(executor, p) for p in parts)
    return True  # ANY, ONE_PER_HOST, MAX_N_PER_HOST, RULE_BASED (rules are not evaluated), LOCAL


def allocation_of(record: dict[str, Any]) -> Allocation | None:
    """The allocation stored in a task record (``render.new_record``)."""
    a = record.get("allocation")
    if not a:
        return None
    return Allocation(a["executorId"], a["hostname"], a["numaNode"], tuple(a["cores"]), int(a["memoryMB"]))
