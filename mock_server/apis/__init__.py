"""Vendor profiles shipped with the mock: each exports ``vendor = Vendor(...)`` (see mock_server.vendor)."""
