"""bolttech subscription-service v4: the core of its stand-in, not yet registered on a vendor profile.

``strategies`` (validation, secret, renderings), ``schedule`` (calendar arithmetic), ``events``
(the lifecycle table and the state at time t), ``instances`` (operations and settling),
``render`` (wire shapes), ``seeding`` (fixtures), ``handlers`` (one function per operationId over
the seam's Context). No ``vendor`` object is exported yet, so discovery skips this package.
Decisions: specs/notes/bolttech.md.
"""
