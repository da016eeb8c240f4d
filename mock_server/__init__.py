"""A local stateful mock server for task-management APIs, driven by merged OpenAPI fragments."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPECS_DIR = PROJECT_ROOT / "specs"
DEFAULT_SPEC = SPECS_DIR / "openapi.yaml"

__all__ = ["DEFAULT_SPEC", "PROJECT_ROOT", "SPECS_DIR"]
