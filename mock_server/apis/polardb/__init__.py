"""Alibaba Cloud PolarDB 2017-08-01 (RPC style): the pure, server-independent core of its stand-in.

``wire`` decodes and encodes the RPC wire form, ``signature`` verifies and signs it as the official
SDK does, ``errors`` renders the gateway's error body, ``batches`` holds the batch-task domain
(validation, lifecycle tables, listing). Nothing here touches the server, the store or the clock:
callers pass in the time, the key lookup and the nonce memory. Decisions: specs/notes/polardb.md.
"""

PRODUCT = "polardb"
VERSION = "2017-08-01"
HOST = "polardb.aliyuncs.com"
# Every action of the fragments in specs/fragments/polardb/.
ACTIONS = frozenset({"CreateBatchTask", "DescribeBatchTasks", "DescribeBatchTask", "DescribePolarClawTask",
                     "InstallPolarClawSkill"})
