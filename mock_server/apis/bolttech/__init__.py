"""bolttech subscription-service v4: strategies, instances and their events over the virtual clock.

``strategies`` (validation, secret, renderings), ``schedule`` (calendar arithmetic), ``events``
(each event's lifecycle table, replayed by ``mock_server.lifecycle``), ``instances`` (operations
and settling), ``render`` (wire shapes), ``seeding`` (fixtures), ``access`` (the Strategy-Secret
rules), ``handlers`` (one function per operationId), ``model`` (the stored data model). Decisions:
specs/notes/bolttech.md.
"""

from mock_server.vendor import Vendor

from . import access, handlers, model

SERVER = "https://api.rc.saas.bolttech.asia/v4.1/subscription-service"

vendor = Vendor("bolttech", servers=[SERVER], identify=handlers.identify, access=access.RULES,
                errors=handlers.error_style, seed=handlers.seed, records=model.RECORDS, keys=model.KEYS,
                references=model.REFERENCES, sequences=model.SEQUENCES, secrets=model.SECRETS, check=model.check)
for _operation_id, _handler in handlers.HANDLERS.items():
    vendor.operation(_operation_id)(_handler)
