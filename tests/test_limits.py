"""The server's connection limits over a real server with short timeouts: slow (slowloris) and idle
connections are closed after their timeout while other clients are still served; connections
over the cap are refused and closed. Waits are bounded; nothing asserts how fast anything is.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from .conftest import start_server

HEAD_TIMEOUT, IDLE_TIMEOUT, BODY_TIMEOUT, CAP = 1.0, 1.0, 1.0, 12


@pytest.fixture(scope="module")
def server():
    server = start_server("--header-timeout", str(HEAD_TIMEOUT), "--keepalive-timeout", str(IDLE_TIMEOUT),
                          "--body-timeout", str(BODY_TIMEOUT), "--max-connections", str(CAP), "--frozen-clock")
    yield server
    server.kill()


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=15)
    return sock


def closed_by_server(sock: socket.socket, within: float = 15) -> bytes | None:
    """What the server sent before closing ``sock`` (None if it is still open after ``within`` s)."""
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body) from a connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def health(server) -> int:
    with server.client() as client:
        return client.get("/__admin/health").status_code


def test_slow_and_idle_connections_are_closed_while_others_are_served(server):
    slow = [connect(server.url) for _ in range(4)]
    for sock in slow:   # slowloris: a request line and half a header, then nothing
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    idle = [connect(server.url) for _ in range(3)]   # connected, never a byte
    kept_alive = connect(server.url)                 # one request, then idle on keep-alive
    kept_alive.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert read_response(kept_alive).startswith(b"HTTP/1.1 200")

    assert health(server) == 200, "another client is served while slow connections are open"
    for sock in slow:
        answer = closed_by_server(sock)
        assert answer is not None, "a slowloris connection is still open after the header timeout"
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    for sock in [*idle, kept_alive]:
        assert closed_by_server(sock) == b"", "an idle connection is closed without an answer"
    assert health(server) == 200
    for sock in [*slow, *idle, kept_alive]:
        sock.close()


def test_a_trickle_of_header_bytes_does_not_keep_a_connection_open(server):
    sock = connect(server.url)
    sock.sendall(b"GET /__admin/health HTTP/1.1\r\n")
    started = time.monotonic()
    answer = None
    while time.monotonic() - started < 15:   # a byte every 0.2 s, each one resetting no timer
        try:
            sock.sendall(b"X")
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.2)
    answer = closed_by_server(sock)
    sock.close()
    assert answer is not None and (answer == b"" or answer.startswith(b"HTTP/1.1 408")), answer
    assert time.monotonic() - started < 15, "the trickling connection was never closed"


def test_a_header_that_never_ends_is_refused_once_it_passes_the_size_limit(server):
    # Sent fast, well inside the header timeout: the size limit, not the timeout, ends it (431, not
    # 408), and the server does not keep buffering the header while waiting for its end.
    sock = connect(server.url)
    sock.sendall(b"GET /v3/applicationInstance/task HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
    sent = 0
    try:
        while sent < 4_000_000:
            sock.sendall(b"y" * 16_384)
            sent += 16_384
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = closed_by_server(sock)
    sock.close()
    assert answer is not None and answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert sent < 4_000_000, "the server read 4 MB of one header without refusing it"
    assert health(server) == 200


def test_the_rest_of_a_body_answered_early_is_not_read_as_a_new_request(server):
    # Over --max-body-bytes the answer comes before the body ends; the rest of the body then is
    # still that request's, not the head of the next one, and the connection serves the next.
    sock = connect(server.url)
    total = 1_200_000
    sock.sendall(b"POST /v3/applicationInstance/task HTTP/1.1\r\nHost: 127.0.0.1\r\nPRIVATE-TOKEN: dev-token\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % total + b" " * 1_100_000)
    first = read_response(sock)
    assert first.startswith(b"HTTP/1.1 413") or first.startswith(b"HTTP/1.1 422"), first[:300]
    assert b"errorCode" in first, first[:300]
    sock.sendall(b" " * (total - 1_100_000))
    time.sleep(0.3)   # the rest of the body arrives on its own, before the next request
    sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    second = read_response(sock)
    sock.close()
    assert second.startswith(b"HTTP/1.1 200") and b'"status"' in second, second[:300]


def test_connections_over_the_cap_are_refused_and_closed_and_the_cap_frees_up(server):
    held = [connect(server.url) for _ in range(CAP)]
    for sock in held:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wait: ")
    time.sleep(0.2)   # let the server accept them all
    extra = connect(server.url)
    answer = closed_by_server(extra)
    assert answer is not None and answer.startswith(b"HTTP/1.1 503"), answer
    extra.close()
    for sock in held:   # the header timeout frees every slot
        assert closed_by_server(sock) is not None
        sock.close()
    deadline = time.monotonic() + 15
    while health(server) != 200:
        assert time.monotonic() < deadline, "the server never accepted a client again"
        time.sleep(0.1)


def clock(server) -> float:
    with server.client() as client:
        return client.get("/__admin/clock").json()["now"]


TRUNCATED = (b"POST /__admin/clock/advance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100\r\n\r\n{\"seconds\": 5}")   # 14 of the 100 bytes announced


def test_a_body_that_never_ends_gets_408_and_is_not_acted_on(server):
    before = clock(server)
    sock = connect(server.url)
    sock.sendall(TRUNCATED)
    answer = closed_by_server(sock)
    sock.close()
    assert answer is not None and answer.startswith(b"HTTP/1.1 408"), answer
    assert clock(server) == before, "a request whose body never ended moved the clock"


def test_a_client_leaving_mid_body_leaves_the_state_alone(server):
    before = clock(server)
    sock = connect(server.url)
    sock.sendall(TRUNCATED)
    sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:   # give the server every chance to (wrongly) act on it
        assert clock(server) == before, "a truncated body was acted on"
        time.sleep(0.2)
