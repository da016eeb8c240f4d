"""Vendor behaviour modules: each exports ``api = DomainAPI(...)`` (see mock_server.domain)."""
