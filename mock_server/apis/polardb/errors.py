"""The Alibaba Cloud gateway's errors: codes with their HTTP status and wording, and the error body.

Every refusal of this package is an ``AcsError``; ``body()`` renders it the way the gateway does,
``{RequestId, HostId, Code, Message, Recommend}``. Request ids are deterministic (seed + counter).
"""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import quote

from mock_server.apis.polardb.product import HOST, PRODUCT

MEDIA_TYPE = "application/json;charset=utf-8"

# Code -> (HTTP status, message). The wording is the gateway's where public error bodies show it;
# codes marked "ours" follow the vendor's conventions where nothing is published.
CATALOGUE: dict[str, tuple[int, str]] = {
    "InvalidVersion": (400, "Specified parameter Version is not valid."),
    "InvalidAction.NotFound": (404, "Specified api is not found, please check your url and method."),
    "InvalidApi.NotFound": (404, "Specified api is not found, please check your url and method."),
    "UnsupportedHTTPMethod": (403, "The specified HTTP method is not supported."),  # ours: wording
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "SignatureDoesNotMatch": (400, "Specified signature is not matched with our calculation."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "InvalidTimeStamp.Format": (400, "Specified time stamp or date value is not well formatted."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "InvalidBatchId.NotFound": (404, "The specified BatchId does not exist."),  # ours
    "InvalidTaskId.NotFound": (404, "The specified TaskId does not exist."),  # ours
    # PolarDB's client error codes page: 404 "instance not found"; the wording is ours.
    "Forbidden.InstanceNotFound": (404, "The specified instance is not found."),
    "InternalError": (500, "The request processing has failed due to some unknown error."),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
}

# The engine's rejection kinds, for the status each code carries (the status is always forced).
KINDS = {400: "invalid", 403: "forbidden", 404: "not_found", 500: "unavailable", 503: "unavailable"}
# The code for an engine rejection that carries none (e.g. Connexion's own validation), by kind.
FALLBACK_CODES = {
    "invalid": "InvalidParameter", "invalid_path": "InvalidParameter", "unsupported_media": "InvalidParameter",
    "too_large": "InvalidParameter", "unauthenticated": "IncompleteSignature", "forbidden": "Forbidden.RAM",
    "not_found": "InvalidApi.NotFound", "method_not_allowed": "UnsupportedHTTPMethod",
    "unavailable": "ServiceUnavailable",
}


class AcsError(Exception):
    """A refusal in the gateway's terms: HTTP status, Code and Message."""

    def __init__(self, status: int, code: str, message: str, *, parameter: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.parameter = status, code, message, parameter

    @classmethod
    def of(cls, code: str, detail: str = "") -> AcsError:
        """The catalogued error ``code``; ``detail`` is appended to its message."""
        status, message = CATALOGUE[code]
        return cls(status, code, message + detail)

    @property
    def kind(self) -> str:
        return KINDS.get(self.status, "invalid")

    def body(self, request_id: str, host_id: str = HOST) -> dict[str, str]:
        return error_body(self.code, self.message, request_id=request_id, host_id=host_id)


def code_for(kind: str, status: int) -> str:
    """The gateway code for a rejection without one: by kind, InternalError for any other 5xx."""
    if status >= 500 and status != 503:
        return "InternalError"
    return FALLBACK_CODES.get(kind, "InvalidParameter")


def missing_parameter(name: str) -> AcsError:
    """An operation parameter is absent (PolarDB's MissingParameter, the gateway's wording)."""
    return AcsError(400, "MissingParameter", f"{name} is mandatory for this action.", parameter=name)


def missing_protocol_parameter(name: str) -> AcsError:
    """A signature/protocol parameter is absent: the gateway's ``Missing<Param>`` (e.g. MissingSignature)."""
    return AcsError(400, f"Missing{name}", f"{name} is mandatory for this action.", parameter=name)


def missing_common_parameter(name: str) -> AcsError:
    """Action or Version absent: the gateway's older wording, still what it answers for these two."""
    return AcsError(400, "MissingParameter",
                    f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
                    parameter=name)


def invalid_parameter(name: str, value: str) -> AcsError:
    shown = value if len(value) <= 200 else value[:200] + "..."
    return AcsError(400, "InvalidParameter", f'The specified parameter "{name}" is not valid: {shown}.',
                    parameter=name)


def unsupported_parameter(name: str) -> AcsError:
    """A parameter the action does not take (PolarDB's documented UnsupportedParameter; wording ours)."""
    shown = name if len(name) <= 100 else name[:100] + "..."
    return AcsError(400, "UnsupportedParameter", f'The parameter "{shown}" is not supported by this action.',
                    parameter=name)


def recommend(code: str, request_id: str) -> str:
    """The diagnosis link, in the form current gateways send (q, product, requestId)."""
    return (f"https://api.aliyun.com/troubleshoot?q={quote(code, safe='.')}&product={PRODUCT}"
            f"&requestId={request_id}")


def error_body(code: str, message: str, *, request_id: str, host_id: str = HOST) -> dict[str, str]:
    return {"RequestId": request_id, "HostId": host_id, "Code": code, "Message": message,
            "Recommend": recommend(code, request_id)}


def request_id(seed: int, counter: int) -> str:
    """The ``counter``-th request id of a run with ``seed``: an upper-case UUID, as the gateway's."""
    digest = hashlib.sha256(f"polardb-request\x1f{seed}\x1f{counter}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4)).upper()
