"""The admin API under /__admin/, served by Connexion from its own small spec (admin.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion import request as cx_request

from mock_server.runtime import Runtime

SPEC = Path(__file__).with_name("admin.yaml")


def create_app(rt: Runtime) -> AsyncApp:
    def clock() -> dict:
        return rt.clock.snapshot()

    async def body() -> Any:
        return await cx_request.json()

    handlers = {
        "health": lambda: {"status": "ok", "apis": rt.apis(), "operations": len(rt.spec.operations),
                           "seed": rt.config.seed, "strict": rt.config.strict,
                           "state": str(rt.store) if rt.config.state else None},
        "reset": lambda: (rt.reset(), rt.journal.clear(), {"message": "state reset to the seeded fixtures"})[-1],
        "get_state": lambda: rt.store.export(),
        "get_clock": clock,
        "freeze_clock": lambda: (rt.clock.freeze(), clock())[-1],
        "unfreeze_clock": lambda: (rt.clock.unfreeze(), clock())[-1],
        "get_requests": lambda limit=None, operationId=None: rt.journal.entries(limit, operationId),
    }

    async def put_state() -> dict:
        rt.load(await body())
        return {"message": "state imported"}

    async def advance_clock() -> dict:
        rt.clock.advance(float((await body())["seconds"]))
        return clock()

    handlers.update({"put_state": put_state, "advance_clock": advance_clock})
    app = AsyncApp(__name__)
    app.add_api(SPEC, resolver=lambda operation_id: handlers[operation_id], base_path="/__admin")
    return app
