"""Alibaba Cloud PolarDB 2017-08-01 (RPC style): its stand-in, a pure core and the profile serving it.

The core: ``wire`` decodes and encodes the RPC wire form, ``signature`` verifies and signs it as the
official SDK does, ``errors`` renders the gateway's error body, ``batches`` holds the batch-task
domain (validation, lifecycle tables, listing), ``polarclaw`` the PolarClaw tasks and skill installs.
None of them touches the server, the store or the clock: callers pass in the time, the key lookup
and the nonce memory. ``profile`` puts the core on the pipeline (the ``vendor`` the engine
discovers). Decisions: specs/notes/polardb.md.
"""

from mock_server.apis.polardb.product import ACTIONS, HOST, PRODUCT, VERSION
from mock_server.apis.polardb.profile import vendor

__all__ = ["ACTIONS", "HOST", "PRODUCT", "VERSION", "vendor"]
