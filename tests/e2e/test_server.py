"""The process contract: startup output, health check, graceful shutdown."""

from __future__ import annotations

import http.client
import json
import re
import signal
import time
import urllib.request

from kms_helpers import build_request, kms_client
from strongroom_server import EXPORT_KEYS


def test_startup_prints_the_four_exports(server):
    assert set(EXPORT_KEYS) <= set(server.exports)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.endpoint), server.endpoint
    assert server.host_port[1] != 0, "port 0 must be replaced by the bound port"
    assert server.region == "us-east-1"


def test_explicit_dev_credentials_are_used_verbatim(server):
    assert server.access_key_id == server.requested_access_key_id
    assert server.secret_access_key == server.requested_secret_access_key


def test_generated_dev_credentials_look_like_aws_credentials(make_server):
    srv = make_server("generated")
    srv.start()
    # IAM's AccessKeyId shape: [\w]+, 16 to 128 characters
    assert re.fullmatch(r"\w{16,128}", srv.access_key_id), srv.access_key_id
    assert len(srv.secret_access_key) >= 32, "a generated secret needs at least 32 characters"
    other = make_server("generated-2")
    other.start()
    assert other.access_key_id != srv.access_key_id
    assert other.secret_access_key != srv.secret_access_key


def test_healthz_is_200_without_authentication(server):
    with urllib.request.urlopen(server.endpoint + "/healthz", timeout=5) as resp:
        assert resp.status == 200


def test_the_printed_environment_is_enough_for_boto3(server):
    client = kms_client(server.exports["AWS_ENDPOINT_URL"], server.exports["AWS_ACCESS_KEY_ID"],
                        server.exports["AWS_SECRET_ACCESS_KEY"], server.exports["AWS_REGION"])
    assert client.list_keys(Limit=1)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_sigterm_when_idle_exits_zero(make_server):
    srv = make_server("idle-stop")
    srv.start()
    started = time.monotonic()
    assert srv.stop(timeout=15) == 0
    assert time.monotonic() - started < 15


def _open_partial_request(srv, payload: dict, target: str):
    """Send the headers and half of a signed body, leaving the request in flight."""
    body = json.dumps(payload).encode()
    headers, body = build_request(srv.endpoint, target, body, access_key_id=srv.access_key_id,
                                  secret_access_key=srv.secret_access_key, region=srv.region)
    host, port = srv.host_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.putrequest("POST", "/", skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    half = len(body) // 2
    conn.send(body[:half])
    return conn, body[half:]


def test_sigterm_lets_in_flight_requests_finish(make_server):
    srv = make_server("drain")
    srv.start()
    kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    in_flight = [
        _open_partial_request(srv, {"KeyId": key_id, "Plaintext": "aW4gZmxpZ2h0"}, "Encrypt")
        for _ in range(6)
    ] + [_open_partial_request(srv, {"Description": "created during shutdown"}, "CreateKey")]
    time.sleep(0.5)  # let the server read the headers and start handling
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert srv.proc.poll() is None, "the server exited with requests still in flight"
    statuses = []
    for conn, rest in in_flight:
        conn.send(rest)
        response = conn.getresponse()
        statuses.append((response.status, json.loads(response.read())))
        conn.close()
    assert [s for s, _ in statuses] == [200] * len(in_flight), statuses
    assert all("CiphertextBlob" in doc for _, doc in statuses[:-1])
    created = statuses[-1][1]["KeyMetadata"]["KeyId"]
    assert srv.proc.wait(timeout=20) == 0, "graceful shutdown must exit 0"
    srv.start()
    kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    assert kms.describe_key(KeyId=created)["KeyMetadata"]["Description"] == "created during shutdown"
