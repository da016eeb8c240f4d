"""Request signatures exactly as the official SDK computes them: ACS3-HMAC-SHA256 and the older v1 HMAC-SHA1.

``verify`` checks a raw request (original method, path, query bytes, headers, body) and returns a
``Verdict``: the access key id on success, else the gateway's error. It needs no server: the key
lookup (access key id -> secret or None), the nonce memory and the virtual "now" are passed in.
``sign_acs3`` / ``sign_v1`` sign requests for real targets (the contract-test harness) and tests.
Recipes: alibabacloud_tea_openapi 0.4.6 ``Utils.get_authorization`` and ``Utils.get_rpcsignature``.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping, MutableSet
from dataclasses import dataclass
from urllib.parse import quote_plus

from mock_server.apis.polardb._codec import FORM, Headers, header, header_pairs, parse_query, percent_encode
from mock_server.apis.polardb.errors import AcsError, missing_protocol_parameter

ACS3 = "ACS3-HMAC-SHA256"
V1_METHOD, V1_VERSION = "HMAC-SHA1", "1.0"
MAX_SKEW_SECONDS = 15 * 60
# Headers that must be signed whenever they are sent (the ACS3 rule: every common request header).
MUST_SIGN = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
REQUIRED_V3 = ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
REQUIRED_V1 = ("AccessKeyId", "SignatureNonce", "Timestamp", "SignatureMethod", "SignatureVersion")
_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+) Credential=(?P<key>[^,\s]+),\s*SignedHeaders=(?P<names>[^,\s]*),\s*Signature=(?P<sig>\S+)$")
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,3})?Z$")

SecretLookup = Callable[[str], str | None]
# Either a set of seen nonces, or ``first_use(key) -> bool`` that records the key and says whether it is new.
NonceMemory = Callable[[str], bool] | MutableSet[str]


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found. ``error`` is None when the request is genuine."""

    algorithm: str | None
    access_key_id: str | None = None
    error: AcsError | None = None
    string_to_sign: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


# -- ACS3-HMAC-SHA256 -----------------------------------------------------------------------------
def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Pairs sorted by key (then value), both RFC 3986-encoded, joined ``k=v&...``."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(pairs))


def canonical_headers(headers: list[tuple[str, str]], names: list[str]) -> str:
    """One ``name:value\\n`` line per signed header; repeated values stripped, sorted, joined with ``,``."""
    lines = []
    for name in names:
        values = sorted(value.strip() for key, value in headers if key == name)
        lines.append(f"{name}:{','.join(values)}\n")
    return "".join(lines)


def canonical_request(method: str, path: str, pairs: Iterable[tuple[str, str]], headers: list[tuple[str, str]],
                      names: list[str], payload_hash: str) -> str:
    return "\n".join([method, path, canonical_query(pairs), canonical_headers(headers, names),
                      ";".join(names), payload_hash])


def acs3_string_to_sign(canonical: str) -> str:
    return f"{ACS3}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def acs3_signature(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def sign_acs3(method: str, path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str],
              access_key_id: str, secret: str) -> str:
    """The ``Authorization`` value for a request with exactly these headers (all of them signed, as the SDK
    does). ``headers`` must hold ``x-acs-content-sha256``."""
    pairs = header_pairs(headers)
    names = sorted({name for name, _ in pairs})
    canonical = canonical_request(method, path, list(query), pairs, names, header(pairs, "x-acs-content-sha256"))
    signature = acs3_signature(secret, acs3_string_to_sign(canonical))
    return f"{ACS3} Credential={access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"


# -- v1 (HMAC-SHA1 in the query) ------------------------------------------------------------------
def v1_string_to_sign(method: str, pairs: Iterable[tuple[str, str]]) -> str:
    """``METHOD&%2F&`` + the encoded canonical query of every parameter but ``Signature``."""
    canonical = canonical_query((k, v) for k, v in pairs if k != "Signature")
    return f"{method}&%2F&{quote_plus(canonical, safe='~')}"


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sign_v1(method: str, params: Mapping[str, str], *, action: str, version: str, access_key_id: str, secret: str,
            timestamp: str, nonce: str) -> dict[str, str]:
    """Every query parameter of a v1-signed request (the SDK's ``signature_algorithm='v2'`` form)."""
    query = {"Action": action, "Format": "json", "Version": version, "Timestamp": timestamp,
             "SignatureNonce": nonce, **params, "SignatureMethod": V1_METHOD, "SignatureVersion": V1_VERSION,
             "AccessKeyId": access_key_id}
    query["Signature"] = v1_signature(secret, v1_string_to_sign(method, query.items()))
    return query


# -- verification ---------------------------------------------------------------------------------
def verify(method: str, path: str, query_string: bytes | str, headers: Headers, body: bytes = b"", *,
           secret_for: SecretLookup, nonces: NonceMemory, now: float) -> Verdict:
    """Is this raw request signed by a known key, recently, once? v1 when the query carries a
    ``Signature`` (or other v1 parameters), ACS3 otherwise."""
    header_list = header_pairs(headers)
    try:
        pairs = parse_query(query_string)
        content_type = (header(header_list, "content-type") or "").split(";")[0].strip().lower()
        form = parse_query(body) if body and content_type == FORM else []
    except AcsError as error:
        return Verdict(None, error=error)
    names = {k for k, _ in pairs}
    if "Signature" in names or names & {"SignatureMethod", "SignatureVersion", "AccessKeyId"}:
        return _verify_v1(method.upper(), pairs + form, secret_for, nonces, now)
    return _verify_acs3(method.upper(), path.split("?", 1)[0], pairs, header_list, body, secret_for, nonces, now)


def _verify_acs3(method: str, path: str, pairs: list[tuple[str, str]], headers: list[tuple[str, str]], body: bytes,
                 secret_for: SecretLookup, nonces: NonceMemory, now: float) -> Verdict:
    authorization = header(headers, "authorization")
    if authorization is None:
        return Verdict(ACS3, error=AcsError.of("IncompleteSignature", " The Authorization header is missing."))
    match = _AUTHORIZATION.match(authorization.strip())
    if not match or match["algorithm"] != ACS3:
        return Verdict(ACS3, error=AcsError.of("IncompleteSignature", f" Expected {ACS3} Credential=<AccessKeyId>,"
                                                                      "SignedHeaders=<names>,Signature=<hex>."))
    key_id, names = match["key"], [n.lower() for n in match["names"].split(";") if n]
    present = {name for name, _ in headers}
    for name in REQUIRED_V3:
        if name not in present:
            return Verdict(ACS3, key_id, AcsError.of("IncompleteSignature", f" The {name} header is missing."))
    unsigned = [name for name in MUST_SIGN if name in present and name not in names]
    absent = [name for name in names if name not in present]
    if unsigned or absent:
        detail = f" Header {(unsigned or absent)[0]} is {'not signed' if unsigned else 'signed but not sent'}."
        return Verdict(ACS3, key_id, AcsError.of("IncompleteSignature", detail))
    refused = _check_time(header(headers, "x-acs-date"), now)
    if refused:
        return Verdict(ACS3, key_id, refused)
    secret = secret_for(key_id)
    if secret is None:
        return Verdict(ACS3, key_id, AcsError.of("InvalidAccessKeyId.NotFound"))
    payload_hash = header(headers, "x-acs-content-sha256")
    canonical = canonical_request(method, path, pairs, headers, names, payload_hash)
    string_to_sign = acs3_string_to_sign(canonical)
    if payload_hash != hashlib.sha256(body).hexdigest() or not hmac.compare_digest(
            match["sig"], acs3_signature(secret, string_to_sign)):
        return Verdict(ACS3, key_id, AcsError.of("SignatureDoesNotMatch"), string_to_sign)
    if not _first_use(nonces, f"{key_id}:{header(headers, 'x-acs-signature-nonce')}"):
        return Verdict(ACS3, key_id, AcsError.of("SignatureNonceUsed"), string_to_sign)
    return Verdict(ACS3, key_id, None, string_to_sign)


def _verify_v1(method: str, pairs: list[tuple[str, str]], secret_for: SecretLookup, nonces: NonceMemory,
               now: float) -> Verdict:
    params = dict(pairs)
    key_id = params.get("AccessKeyId")
    if "Signature" not in params:
        return Verdict(V1_METHOD, key_id, missing_protocol_parameter("Signature"))
    for name in REQUIRED_V1:
        if not params.get(name):
            return Verdict(V1_METHOD, key_id, missing_protocol_parameter(name))
    if params["SignatureMethod"] != V1_METHOD or params["SignatureVersion"] != V1_VERSION:
        detail = f" Only SignatureMethod={V1_METHOD} with SignatureVersion={V1_VERSION} is supported."
        return Verdict(V1_METHOD, key_id, AcsError.of("IncompleteSignature", detail))
    refused = _check_time(params["Timestamp"], now)
    if refused:
        return Verdict(V1_METHOD, key_id, refused)
    secret = secret_for(key_id)
    if secret is None:
        return Verdict(V1_METHOD, key_id, AcsError.of("InvalidAccessKeyId.NotFound"))
    string_to_sign = v1_string_to_sign(method, pairs)
    if not hmac.compare_digest(params["Signature"], v1_signature(secret, string_to_sign)):
        # The gateway shows its string to sign for v1, so a client can diff its own against it.
        error = AcsError.of("SignatureDoesNotMatch", f" server string to sign is:{string_to_sign}")
        return Verdict(V1_METHOD, key_id, error, string_to_sign)
    if not _first_use(nonces, f"{key_id}:{params['SignatureNonce']}"):
        return Verdict(V1_METHOD, key_id, AcsError.of("SignatureNonceUsed"), string_to_sign)
    return Verdict(V1_METHOD, key_id, None, string_to_sign)


def parse_timestamp(text: str) -> float | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` (optionally with milliseconds), UTC -> unix seconds; None when malformed."""
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    try:
        moment = calendar.timegm(time.strptime(match[1], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    return moment + float(match[2] or 0)


def _check_time(text: str | None, now: float) -> AcsError | None:
    moment = parse_timestamp(text or "")
    if moment is None:
        return AcsError.of("InvalidTimeStamp.Format")
    if abs(moment - now) > MAX_SKEW_SECONDS:
        return AcsError.of("InvalidTimeStamp.Expired")
    return None


def _first_use(nonces: NonceMemory, key: str) -> bool:
    if isinstance(nonces, MutableSet):
        if key in nonces:
            return False
        nonces.add(key)
        return True
    return nonces(key)
