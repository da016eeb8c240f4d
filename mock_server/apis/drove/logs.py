"""A task's ``output.log`` as the executor keeps it, growing with the virtual clock, and the three log
endpoints' answers (list / read / download), which the controller proxies without an envelope.
The file (and its folder) exists from the instance's first line on (the image pull).

The file holds what the executor's ``drove`` appender writes for the instance (pattern
``%(%-5level) [%date] [%logger{0}] %message%n``, as in drove-executor.yml): the executor's own
lines about the instance (image pull, monitor, clean-up) and the container's stdout (INFO) and
stderr (ERROR) through ``InstanceLogHandler``. Content is a pure function of seed, task and time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from .lifecycle import Status
from .render import Answer

LOG_FILE = "output.log"
_BATCH_WORDS = ("orders", "invoices", "events", "users", "payments", "shipments", "sessions")


def _draw(seed: int, *parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, (seed, "drove-log", *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _stamp(t: float) -> str:
    moment = dt.datetime.fromtimestamp(t, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}"


def _line(t: float, level: str, logger: str, message: str) -> tuple[float, str]:
    return t, f"{level:<5} [{_stamp(t)}] [{logger}] {message}"


def log_lines(record: dict, status: Status, now: float, seed: int) -> list[str]:
    """Every line of the task's ``output.log`` written by virtual time ``now``."""
    app, task = record["sourceAppName"], record["taskId"]
    image = record["spec"]["executable"]["url"]
    container = "".join(f"{_draw(seed, app, task, record['created'], 'container', i):016x}" for i in range(4))
    image_id = "sha256:" + "".join(f"{_draw(seed, image, 'image', i):016x}" for i in range(4))
    events = []
    provisioning, starting = status.entered.get("PROVISIONING"), status.entered.get("STARTING")
    if provisioning is not None:
        events.append(_line(provisioning + 0.004, "INFO", "CommonExecutableFetchAction",
                            f"Pulling docker image: {image}"))
        events.append(_line(provisioning + 0.006, "INFO", "DockerUtils", f"Pulling docker image: {image}"))
    if starting is not None:
        events.append(_line(starting - 0.088, "INFO", "DockerUtils", f"Pulled image {image} with image ID: {image_id}"))
    if status.started_at is not None:
        started = status.started_at
        configs = record["spec"].get("configs") or []
        if not configs:
            events.append(_line(started - 0.35, "INFO", "DockerUtils", "No configs to be injected to container"))
        events.append(_line(started + 0.021, "INFO", "TaskMonitoringAction", f"Starting to monitor {app}/{task}"))
        end = status.run_ended_at if status.run_ended_at is not None else now
        events.extend(_container_output(record, seed, started, end))
    if status.run_ended_at is not None:
        end = status.run_ended_at
        if status.outcome == "cancelled":
            events.append(_line(end + 0.002, "WARN", "TaskMonitoringAction",
                                f"Monitor for {app}/{task} stopped as stop was called"))
        else:
            code = record["exitCode"] if status.outcome == "failed" else 0
            events.append(_line(end + 0.004, "INFO", "TaskMonitoringAction",
                                f"Task instance completed with status: ContainerState(status=exited, running=false, "
                                f"exitCodeLong={code})"))
            events.append(_line(end + 0.006, "INFO", "TaskMonitoringAction",
                                f"Exiting monitor as task result has been generated for {app}/{task}"))
        events.append(_line(end + 1.2, "INFO", "DockerUtils", f"Removed container: {container}"))
        events.append(_line(end + 2.9, "INFO", "DockerUtils", f"Removed image: {image_id}"))
    return [text for t, text in sorted(events) if t <= now]


def _container_output(record: dict, seed: int, started: float, end: float) -> list[tuple[float, str]]:
    """One container line a second while it runs: the job's progress, then its last word."""
    app, task = record["sourceAppName"], record["taskId"]
    env = record["spec"].get("env") or {}
    total = int(record["runSeconds"])
    iterations = str(env.get("ITERATIONS", ""))
    out = [_line(started + 0.3, "INFO", "InstanceLogHandler", f"Starting {app} task {task}")]
    if iterations and iterations.isdigit() and int(iterations) > 0:
        # the docs' test-task image: ITERATIONS progress lines spread over the run
        count = int(iterations)
        out.extend(_line(started + i * total / (count + 1), "INFO", "InstanceLogHandler", f"Iteration {i} of {count}")
                   for i in range(1, count + 1))
    else:
        for i in range(1, total):
            n = _draw(seed, app, task, "batch", i)
            t = started + i - 0.2 + (n % 400) / 1000
            word = _BATCH_WORDS[n % len(_BATCH_WORDS)]
            out.append(_line(t, "INFO", "InstanceLogHandler",
                             f"Processed batch {i}: {200 + n % 800} {word} in {40 + (n >> 12) % 260} ms"))
    code = record["exitCode"]
    if code != 0:
        out.append(_line(started + total - 0.05, "ERROR", "InstanceLogHandler",
                         f"Task failed: unrecoverable error, exiting with status {code}"))
    else:
        out.append(_line(started + total - 0.05, "INFO", "InstanceLogHandler", "Task completed successfully"))
    return [(t, text) for t, text in out if t < end]


def log_bytes(record: dict, status: Status, now: float, seed: int) -> bytes:
    return "".join(f"{line}\n" for line in log_lines(record, status, now, seed)).encode()


# -- the endpoints' answers -----------------------------------------------------------------------
def list_answer() -> Answer:
    """``.../list`` for a known task: the executor's ``{"files": [...]}`` (names starting ``output.``)."""
    return Answer(200, {"files": [LOG_FILE]})


def no_content() -> Answer:
    """Any log endpoint for an unknown task (or a task whose executor is gone): 204, no body."""
    return Answer(204, None, {}, None)


def log_dir(log_path: str, source_app: str, task_id: str) -> str:
    """The instance's log directory on the executor (``LogInfo.logPathFor``)."""
    return f"{log_path}/{source_app}/{task_id}"


def read_answer(content: bytes, offset: int, length: int, file_path: str) -> Answer:
    """``.../read/{file}?offset=&length=`` as the executor answers (``LogFileStream.streamLogs``).

    Both -1 (the defaults): no data, the file's size as ``offset``. Otherwise up to ``length`` bytes
    (-1: 32768) from ``offset``, and ``offset`` echoed back (not advanced: the client adds the length
    of ``data`` itself). ``offset`` -1 with a length is a negative seek on the executor.
    """
    if offset == -1 and length == -1:
        return Answer(200, {"data": "", "offset": len(content)})
    if offset == -1:
        return executor_failed(400, {"error": f"Error reading file {file_path}: Negative seek offset"})
    size = 32_768 if length == -1 else length
    chunk = content[offset:offset + size]
    return Answer(200, {"data": chunk.decode("utf-8", "replace"), "offset": offset})


def download_answer(content: bytes, file_name: str, *, rename: bool = False, source_app: str = "",
                    task_id: str = "", now: float = 0.0) -> Answer:
    """``.../download/{file}``: the raw file. Content-Type is ``URLConnection.guessContentTypeFromName``
    or ``text/plain`` (so ``text/plain`` for ``output.log``); ``rename=true`` names the attachment
    ``<app>_<task>_<file>-<yyyy-MM-dd_HH-mm-ss>``."""
    name = file_name
    if rename:
        stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d_%H-%M-%S")
        name = f"{source_app}_{task_id}_{file_name}-{stamp}"
    media = "application/octet-stream" if name.endswith((".gz", ".z", ".bin")) else "text/plain"
    return Answer(200, content, {"Content-Disposition": f"attachment; filename={name}"}, media)


def missing_dir(log_dir: str) -> Answer:
    """``.../list`` before the instance's first log line: the executor's ``Files.list`` of a folder
    that does not exist yet fails (NoSuchFileException, whose message is the path) -> 400
    ``{"error": "Could not read logs from ..."}``, which the controller turns into a 500."""
    return executor_failed(400, {"error": f"Could not read logs from {log_dir}: {log_dir}"})


def missing_file(log_dir: str, file_name: str) -> Answer:
    """A file the executor cannot read: it answers 400 ``{"error": ...}``; the controller turns any
    non-200 from the executor into 500 ``{"error": "Executor call returned: ..."}`` (inferred)."""
    return executor_failed(400, {"error": f"Could not read log file: {log_dir}/{file_name}"})


def executor_failed(status: int, body: dict) -> Answer:
    text = json.dumps(body, separators=(",", ":"))
    return Answer(500, {"error": f"Executor call returned: {status} body: {text}"})
