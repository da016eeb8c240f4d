"""What identifies the product on the wire: its code, API version, endpoint host and actions."""

PRODUCT = "polardb"
VERSION = "2017-08-01"
HOST = "polardb.aliyuncs.com"
# Every action of the fragments in specs/fragments/polardb/.
ACTIONS = frozenset({"CreateBatchTask", "DescribeBatchTasks", "DescribeBatchTask", "DescribePolarClawTask",
                     "InstallPolarClawSkill"})
