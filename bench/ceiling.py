"""The ceiling of the stack: a bare Starlette app on uvicorn answering constant JSON.

What no mock on this Python stack can beat: routing by path only, no auth, no validation, no
state, no response check. Run as ``python -m bench.ceiling PORT``.
"""

from __future__ import annotations

import sys

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

TASK = {"id": 1, "name": "Restart application instance", "batchId": 1, "categoryId": 1, "entityId": 1001,
        "currentActionIdx": 0, "executeAt": 1767225600, "lastActivityAt": 1767225600, "finishedAt": 0,
        "resultCode": 1, "resultText": "In progress: Stop instance"}
TASKS = orjson.dumps([{**TASK, "id": n} for n in range(1, 21)])
ONE = orjson.dumps([TASK])
BATCH = orjson.dumps([{"id": 1, "createdAt": 1767225600, "executeAt": 1767225600, "finishedAt": 0, "numTasks": 1,
                       "numTasksOk": 0, "numTasksFailed": 0, "numTasksCancelled": 0, "taskIds": [1]}])


async def tasks(_request) -> Response:
    return Response(TASKS, media_type="application/json")


async def one(_request) -> Response:
    return Response(ONE, media_type="application/json")


async def create(_request) -> Response:
    return Response(BATCH, media_type="application/json")


app = Starlette(routes=[
    Route("/v3/applicationInstance/task", tasks, methods=["GET"]),
    Route("/v3/applicationInstance/task", create, methods=["POST"]),
    Route("/v3/applicationInstance/task/{taskId}", one, methods=["GET"]),
])

if __name__ == "__main__":
    print("ceiling listening", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
