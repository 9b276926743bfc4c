"""Monitoring endpoints: GET /metrics counts what boto3 clients did (successes, denials,
invalid requests), by API, operation and outcome; GET /readyz answers once the store does.

Each test runs its own server, so the counters are exact. The Prometheus text format is
parsed here (a few lines of it are all the suite needs; prometheus_client is not pinned).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from kms_helpers import aws_client, error_of, kms_client, unique

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
DURATION_BUCKETS = ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
                    "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]


def get(srv, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of an unauthenticated GET."""
    try:
        with urllib.request.urlopen(srv.endpoint + path, timeout=10) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read().decode()


def parse(text: str) -> dict[str, dict[frozenset, float]]:
    """Metric name -> {frozenset of (label, value) pairs: value}."""
    out: dict[str, dict[frozenset, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        key = frozenset(LABEL.findall(labels or ""))
        series = out.setdefault(name, {})
        assert key not in series, f"duplicate series: {line!r}"
        series[key] = float(value)
    return out


def scrape(srv) -> dict[str, dict[frozenset, float]]:
    status, content_type, text = get(srv, "/metrics")
    assert status == 200, text
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    return parse(text)


def labels(**kv: str) -> frozenset:
    return frozenset(kv.items())


def expect_error(call, code: str) -> None:
    with pytest.raises(ClientError) as exc:
        call()
    assert error_of(exc.value)[0] == code, error_of(exc.value)


@pytest.fixture
def srv(make_server):
    s = make_server("metrics")
    s.start()
    return s


def test_metrics_count_successful_denied_and_invalid_requests(srv):
    root_kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    raw_kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region,
                         validate=False)
    root_iam = aws_client("iam", srv.endpoint, srv.access_key_id, srv.secret_access_key)
    root_sts = aws_client("sts", srv.endpoint, srv.access_key_id, srv.secret_access_key)

    # Successes.
    key_id = root_kms.create_key()["KeyMetadata"]["KeyId"]
    other = root_kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(3):
        root_kms.encrypt(KeyId=key_id, Plaintext=b"metrics")
    root_kms.disable_key(KeyId=other)
    user = unique("metrics")
    root_iam.create_user(UserName=user)
    created = root_iam.create_access_key(UserName=user)["AccessKey"]
    root_sts.get_caller_identity()

    # Invalid requests (client errors), including one that fails authentication.
    expect_error(lambda: raw_kms.encrypt(KeyId=key_id, Plaintext=b""), "ValidationException")
    expect_error(lambda: root_kms.describe_key(KeyId="alias/nothing-here"), "NotFoundException")
    expect_error(lambda: root_kms.encrypt(KeyId=other, Plaintext=b"x"), "DisabledException")
    wrong = kms_client(srv.endpoint, srv.access_key_id, "not-the-secret-" * 3, srv.region)
    expect_error(wrong.list_keys, "InvalidSignatureException")
    expect_error(lambda: root_iam.get_user(UserName=unique("nobody")), "NoSuchEntity")

    # Denied: a user without any policy.
    user_kms = kms_client(srv.endpoint, created["AccessKeyId"], created["SecretAccessKey"], srv.region)
    user_iam = aws_client("iam", srv.endpoint, created["AccessKeyId"], created["SecretAccessKey"])
    expect_error(lambda: user_kms.encrypt(KeyId=key_id, Plaintext=b"x"), "AccessDeniedException")
    expect_error(user_kms.list_keys, "AccessDeniedException")
    expect_error(user_iam.list_users, "AccessDenied")

    metrics = scrape(srv)
    requests = metrics["strongroom_requests_total"]
    want = {
        ("kms", "CreateKey", "success"): 2,
        ("kms", "Encrypt", "success"): 3,
        ("kms", "DisableKey", "success"): 1,
        ("iam", "CreateUser", "success"): 1,
        ("iam", "CreateAccessKey", "success"): 1,
        ("sts", "GetCallerIdentity", "success"): 1,
        ("kms", "Encrypt", "client_error"): 2,
        ("kms", "DescribeKey", "client_error"): 1,
        ("kms", "ListKeys", "client_error"): 1,
        ("iam", "GetUser", "client_error"): 1,
        ("kms", "Encrypt", "denied"): 1,
        ("kms", "ListKeys", "denied"): 1,
        ("iam", "ListUsers", "denied"): 1,
    }
    assert requests == {
        labels(api=a, operation=o, outcome=r): float(n) for (a, o, r), n in want.items()
    }

    # One duration histogram per API and operation, over every outcome.
    counts = metrics["strongroom_request_duration_seconds_count"]
    by_operation: dict[frozenset, float] = {}
    for (a, o, _), n in want.items():
        k = labels(api=a, operation=o)
        by_operation[k] = by_operation.get(k, 0) + n
    assert counts == by_operation
    buckets = metrics["strongroom_request_duration_seconds_bucket"]
    encrypt = {dict(k)["le"]: v for k, v in buckets.items()
               if dict(k)["api"] == "kms" and dict(k)["operation"] == "Encrypt"}
    assert sorted(encrypt, key=DURATION_BUCKETS.index) == DURATION_BUCKETS
    assert encrypt["+Inf"] == 6
    assert list(encrypt.values()) == sorted(encrypt.values()), "buckets are cumulative"

    # Keys by state, counted at the scrape.
    keys = metrics["strongroom_keys"]
    assert keys[labels(state="Enabled")] == 1
    assert keys[labels(state="Disabled")] == 1
    assert keys[labels(state="PendingDeletion")] == 0

    # The caches were used: the root's credentials were found in memory.
    lookups = metrics["strongroom_cache_lookups_total"]
    assert {dict(k)["cache"] for k in lookups} == {"keys", "aliases", "credentials", "principals"}
    assert lookups[labels(cache="credentials", result="hit")] > 0
    assert lookups[labels(cache="keys", result="hit")] > 0


def test_an_unsigned_request_is_counted_as_a_client_error(srv):
    req = urllib.request.Request(
        srv.endpoint + "/", data=b"{}", method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "TrentService.ListKeys"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 400
    requests = scrape(srv)["strongroom_requests_total"]
    assert requests == {labels(api="kms", operation="ListKeys", outcome="client_error"): 1.0}


def test_readyz_is_ready_and_healthz_stays_live(srv):
    assert get(srv, "/readyz")[::2] == (200, "ready\n")
    assert get(srv, "/healthz")[::2] == (200, "ok\n")
    # Monitoring endpoints are not API requests.
    scrape(srv)
    assert "strongroom_requests_total" not in scrape(srv)
