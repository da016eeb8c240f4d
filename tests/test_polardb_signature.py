"""PolarDB signatures from their documented recipes: the ACS3 worked example with its published
signature, a hand-built v1 request, and the gateway's error body."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import re
import time
from urllib.parse import parse_qsl, quote, urlencode

from mock_server.apis.polardb import errors, signature
from mock_server.apis.polardb._codec import header_pairs, parse_query

KEY, SECRET = "testAccessKeyId", "testAccessKeySecret"
SIGNED = ("accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
          "x-acs-signature-nonce;x-acs-version")
EXAMPLE_QUERY = (b"EndTime=2026-11-22T06%3A20%3A48Z&PageNumber=1&PageSize=10&StartTime=2026-11-22T04%3A20%3A48Z"
                 b"&Status=%5B%22COMPLETED%22%2C%22DISPATCHING%22%2C%22FAILED%22%2C%22RUNNING%22%5D"
                 b"&TaskType=polarclaw_install_skills")
EXAMPLE_SIGNATURE = "2b77ae71f5892fae02b2c69081566f0c30720afd6a35ecae1b8b38606e7c6d11"
EXAMPLE_HEADERS = (
    ("Accept-Encoding", "identity"), ("host", "127.0.0.1:8000"), ("x-acs-version", "2017-08-01"),
    ("x-acs-action", "DescribeBatchTasks"),
    ("user-agent", "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"),
    ("x-acs-date", "2026-11-22T05:20:48Z"), ("x-acs-signature-nonce", "16482826af0d39f9d9927e71b37bff92"),
    ("accept", "application/json"),
    ("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("x-acs-credentials-provider", "static_ak"),
    ("Authorization", f"ACS3-HMAC-SHA256 Credential={KEY},SignedHeaders={SIGNED},Signature={EXAMPLE_SIGNATURE}"),
    ("Content-Length", "0"),
)
EXAMPLE_NOW = calendar.timegm(time.strptime("2026-11-22T05:20:50", "%Y-%m-%dT%H:%M:%S"))
EXAMPLE_CANONICAL = "\n".join([
    "POST", "/",
    "EndTime=2026-11-22T06%3A20%3A48Z&PageNumber=1&PageSize=10&StartTime=2026-11-22T04%3A20%3A48Z&Status=%5B%22"
    "COMPLETED%22%2C%22DISPATCHING%22%2C%22FAILED%22%2C%22RUNNING%22%5D&TaskType=polarclaw_install_skills",
    "accept:application/json", "host:127.0.0.1:8000",
    "user-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
    "x-acs-action:DescribeBatchTasks",
    "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-acs-credentials-provider:static_ak", "x-acs-date:2026-11-22T05:20:48Z",
    "x-acs-signature-nonce:16482826af0d39f9d9927e71b37bff92", "x-acs-version:2017-08-01", "",
    SIGNED, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
])


def verify(query, headers, method="POST", now=EXAMPLE_NOW, nonces=None) -> signature.Verdict:
    return signature.verify(method, "/", query, headers, b"", secret_for={KEY: SECRET}.get,
                            nonces=set() if nonces is None else nonces, now=now)


def test_worked_example_canonical_request_and_signature_match_the_published_ones():
    names = SIGNED.split(";")
    canonical = signature.canonical_request("POST", "/", parse_query(EXAMPLE_QUERY), header_pairs(EXAMPLE_HEADERS),
                                            names, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert canonical == EXAMPLE_CANONICAL
    assert signature.acs3_signature(SECRET, signature.acs3_string_to_sign(canonical)) == EXAMPLE_SIGNATURE


def test_worked_example_verifies_as_sent():
    verdict = verify(EXAMPLE_QUERY, EXAMPLE_HEADERS)
    assert verdict.ok and verdict.access_key_id == KEY, verdict.error


def test_worked_example_signed_with_sign_acs3_gives_the_published_authorization():
    signed = {k: v for k, v in EXAMPLE_HEADERS if k.lower() in SIGNED.split(";")}
    authorization = signature.sign_acs3("POST", "/", parse_query(EXAMPLE_QUERY), signed, KEY, SECRET)
    assert authorization == dict(EXAMPLE_HEADERS)["Authorization"]


def test_query_reencoding_is_canonical_whatever_the_client_escaped():
    # A client may send ':' raw and spaces as '+': the server decodes first, then re-encodes.
    raw = EXAMPLE_QUERY.replace(b"%3A", b":")
    assert verify(raw, EXAMPLE_HEADERS).ok


def test_header_order_and_case_do_not_matter_but_unsigned_headers_are_ignored():
    shuffled = tuple(reversed([(k.upper(), v) for k, v in EXAMPLE_HEADERS])) + (("x-extra", "anything"),)
    assert verify(EXAMPLE_QUERY, shuffled).ok


def hand_built_v1(params: dict[str, str], secret: str = SECRET) -> bytes:
    """The documented v1 algorithm, written out independently of the package."""
    def enc(text: str) -> str:
        return quote(text, safe="~")

    canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))
    string_to_sign = "POST&" + enc("/") + "&" + enc(canonical)
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return urlencode({**params, "Signature": base64.b64encode(digest).decode()}).encode()


V1_PARAMS = {"Action": "DescribeBatchTask", "Version": "2017-08-01", "Format": "JSON", "AccessKeyId": KEY,
             "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": "3c6f1a0e-5b7d-4e9f",
             "Timestamp": "2026-11-22T05:20:48Z", "BatchId": "pcb-xxx", "TaskName": "a name with spaces & ~"}


def test_hand_built_v1_request_is_accepted():
    verdict = verify(hand_built_v1(V1_PARAMS), {})
    assert verdict.ok and verdict.algorithm == "HMAC-SHA1", verdict.error


def test_sign_v1_agrees_with_the_hand_built_signature():
    params = {k: v for k, v in V1_PARAMS.items() if k in ("BatchId", "TaskName")}
    query = signature.sign_v1("POST", params, action="DescribeBatchTask", version="2017-08-01", access_key_id=KEY,
                              secret=SECRET, timestamp=V1_PARAMS["Timestamp"], nonce=V1_PARAMS["SignatureNonce"])
    expected = dict(parse_qsl(hand_built_v1({**V1_PARAMS, "Format": "json"}).decode()))["Signature"]
    assert query["Signature"] == expected


def test_v1_with_a_wrong_secret_shows_the_servers_string_to_sign():
    verdict = verify(hand_built_v1(V1_PARAMS, secret="wrong"), {})
    assert verdict.error.code == "SignatureDoesNotMatch" and verdict.error.status == 400
    assert verdict.error.message.endswith("server string to sign is:" + verdict.string_to_sign)
    assert verdict.string_to_sign.startswith("POST&%2F&AccessKeyId%3DtestAccessKeyId%26Action%3DDescribeBatchTask")


def test_v1_with_another_signature_method_is_incomplete_signature():
    verdict = verify(hand_built_v1({**V1_PARAMS, "SignatureMethod": "HMAC-SHA256"}), {})
    assert (verdict.error.status, verdict.error.code) == (400, "IncompleteSignature")


def test_v1_missing_nonce_or_timestamp_names_the_parameter():
    for name in ("SignatureNonce", "Timestamp"):
        params = {k: v for k, v in V1_PARAMS.items() if k != name}
        assert verify(hand_built_v1(params), {}).error.code == f"Missing{name}"


def test_a_nonce_memory_may_be_a_callable_backed_by_anything():
    seen: list[str] = []

    def first_use(key: str) -> bool:
        if key in seen:
            return False
        seen.append(key)
        return True

    assert verify(EXAMPLE_QUERY, EXAMPLE_HEADERS, nonces=first_use).ok
    assert verify(EXAMPLE_QUERY, EXAMPLE_HEADERS, nonces=first_use).error.code == "SignatureNonceUsed"
    assert seen == [f"{KEY}:16482826af0d39f9d9927e71b37bff92"]


def test_timestamps_parse_with_or_without_milliseconds_and_reject_impossible_dates():
    assert signature.parse_timestamp("2026-11-22T05:20:48Z") == EXAMPLE_NOW - 2
    assert signature.parse_timestamp("2026-11-22T05:20:48.500Z") == EXAMPLE_NOW - 1.5
    assert signature.parse_timestamp("2026-02-30T00:00:00Z") is None
    assert signature.parse_timestamp("2026-11-22 05:20:48") is None


def test_error_body_has_the_gateways_five_fields_and_a_deterministic_request_id():
    rid = errors.request_id(7, 1)
    assert rid == errors.request_id(7, 1) != errors.request_id(7, 2) != errors.request_id(8, 1)
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}", rid)
    body = errors.AcsError.of("SignatureNonceUsed").body(rid)
    assert body == {"RequestId": rid, "HostId": "polardb.aliyuncs.com", "Code": "SignatureNonceUsed",
                    "Message": "Specified signature nonce was used already.",
                    "Recommend": f"https://api.aliyun.com/troubleshoot?q=SignatureNonceUsed&product=polardb"
                                 f"&requestId={rid}"}


def test_engine_rejections_without_a_code_get_the_gateways_nearest_one():
    assert errors.code_for("invalid", 400) == "InvalidParameter"
    assert errors.code_for("method_not_allowed", 405) == "UnsupportedHTTPMethod"
    assert errors.code_for("unavailable", 503) == "ServiceUnavailable"
    assert errors.code_for("invalid", 500) == "InternalError"
