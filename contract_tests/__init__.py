"""The contract-test harness: Schemathesis runs against the mock or a real base URL."""
