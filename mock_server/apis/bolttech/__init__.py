"""bolttech subscription-service v4: the pure core (strategies, calendar, event lifecycle, rendering).

Nothing here touches the server: the vendor profile that wires these functions to operationIds is
added once the seam lands. Decisions: specs/notes/bolttech.md.
"""
