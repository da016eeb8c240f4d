"""A local stateful mock server for task-management APIs, driven by merged OpenAPI fragments."""

import warnings
from pathlib import Path

# Connexion imports Starlette's TestClient at import time, which warns about httpx on every start.
warnings.filterwarnings("ignore", message=".*starlette.testclient.*")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPECS_DIR = PROJECT_ROOT / "specs"
DEFAULT_SPEC = SPECS_DIR / "openapi.yaml"

__all__ = ["DEFAULT_SPEC", "PROJECT_ROOT", "SPECS_DIR"]
