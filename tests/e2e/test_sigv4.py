"""SigV4 authentication, with requests signed by botocore's own SigV4Auth and sent
raw, so each can be broken in exactly one way. AWS JSON services answer all of
these with HTTP 400 and a `__type` naming the failure."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kms_helpers import build_request, kms_client, raises_kms, raw_call, send_raw
from strongroom_server import random_access_key_id, random_secret_access_key

BODY = json.dumps({"Limit": 1}).encode()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def test_correctly_signed_raw_request_is_accepted(server):
    """Control for every test below: the raw signing path itself works."""
    response = raw_call(server, "ListKeys", BODY)
    assert response.status == 200, response.body
    assert "Keys" in response.json


def test_missing_authorization_is_missing_authentication_token(server):
    headers, body = build_request(server.endpoint, "ListKeys", BODY, access_key_id=None, secret_access_key=None)
    assert "Authorization" not in headers
    response = send_raw(server.endpoint, headers, body)
    assert response.status == 400
    assert response.error_code == "MissingAuthenticationTokenException", response.body


def test_wrong_secret_is_invalid_signature(server):
    response = raw_call(server, "ListKeys", BODY, secret_access_key=random_secret_access_key())
    assert response.status == 400
    assert response.error_code == "InvalidSignatureException", response.body


def test_wrong_secret_through_boto3(server):
    client = kms_client(server.endpoint, server.access_key_id, random_secret_access_key(), server.region)
    with raises_kms("InvalidSignatureException", 400):
        client.list_keys()


def test_unknown_access_key_is_unrecognized_client(server):
    response = raw_call(server, "ListKeys", BODY, access_key_id=random_access_key_id(),
                        secret_access_key=random_secret_access_key())
    assert response.status == 400
    assert response.error_code == "UnrecognizedClientException", response.body


def test_unknown_access_key_through_boto3(server):
    client = kms_client(server.endpoint, random_access_key_id(), random_secret_access_key(), server.region)
    with raises_kms("UnrecognizedClientException", 400):
        client.list_keys()


def test_signature_six_minutes_old_is_expired(server):
    # AWS: "Signature expired: 20240101T000000Z is now earlier than … (… - 5 min.)"
    response = raw_call(server, "ListKeys", BODY, when=utc_now() - dt.timedelta(minutes=6))
    assert response.status == 400
    assert response.error_code == "InvalidSignatureException", response.body
    assert "Signature expired" in response.error_message


def test_signature_six_minutes_ahead_is_not_yet_current(server):
    # AWS: "Signature not yet current: 20240101T000600Z is still later than … (… + 5 min.)"
    response = raw_call(server, "ListKeys", BODY, when=utc_now() + dt.timedelta(minutes=6))
    assert response.status == 400
    assert response.error_code == "InvalidSignatureException", response.body
    assert "Signature not yet current" in response.error_message


@pytest.mark.parametrize("minutes", [-4, 4])
def test_clock_skew_within_five_minutes_is_accepted(minutes, server):
    response = raw_call(server, "ListKeys", BODY, when=utc_now() + dt.timedelta(minutes=minutes))
    assert response.status == 200, response.body


def test_body_changed_after_signing_is_invalid_signature(server):
    headers, body = build_request(
        server.endpoint, "ListKeys", b'{"Limit": 1}',
        access_key_id=server.access_key_id, secret_access_key=server.secret_access_key, region=server.region)
    response = send_raw(server.endpoint, headers, b'{"Limit": 2}')
    assert response.status == 400
    assert response.error_code == "InvalidSignatureException", response.body


def test_signed_header_changed_after_signing_is_invalid_signature(server):
    headers, body = build_request(
        server.endpoint, "ListKeys", BODY,
        access_key_id=server.access_key_id, secret_access_key=server.secret_access_key, region=server.region)
    headers["X-Amz-Target"] = "TrentService.ListAliases"
    response = send_raw(server.endpoint, headers, body)
    assert response.status == 400
    assert response.error_code == "InvalidSignatureException", response.body


def test_credential_scoped_to_another_service_is_refused(server):
    # AWS: "Credential should be scoped to correct service: 'kms'."
    response = raw_call(server, "ListKeys", BODY, service="s3")
    assert response.status == 400
    assert response.error_code in {"InvalidSignatureException", "IncompleteSignatureException"}, response.body
    assert "kms" in response.error_message


def test_credential_scoped_to_another_region_is_served_there(server):
    response = raw_call(server, "CreateKey", {"Description": "scoped"}, region="ap-southeast-2")
    assert response.status == 200, response.body
    assert response.json["KeyMetadata"]["Arn"].startswith("arn:aws:kms:ap-southeast-2:")


def test_authorization_without_date_is_incomplete(server):
    # AWS: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    headers, body = build_request(
        server.endpoint, "ListKeys", BODY,
        access_key_id=server.access_key_id, secret_access_key=server.secret_access_key, region=server.region)
    del headers["X-Amz-Date"]
    response = send_raw(server.endpoint, headers, body)
    assert response.status == 400
    assert response.error_code == "IncompleteSignatureException", response.body


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 garbage",
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/kms/aws4_request",
    "AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature=00",
])
def test_malformed_authorization_header_is_incomplete(authorization, server):
    headers, body = build_request(
        server.endpoint, "ListKeys", BODY,
        access_key_id=server.access_key_id, secret_access_key=server.secret_access_key, region=server.region)
    headers["Authorization"] = authorization
    response = send_raw(server.endpoint, headers, body)
    assert response.status == 400
    assert response.error_code == "IncompleteSignatureException", response.body


def test_failed_signature_changes_nothing(server, kms):
    before = sum(len(p["Keys"]) for p in kms.get_paginator("list_keys").paginate())
    response = raw_call(server, "CreateKey", {"Description": "must not exist"},
                        secret_access_key=random_secret_access_key())
    assert response.error_code == "InvalidSignatureException"
    after = sum(len(p["Keys"]) for p in kms.get_paginator("list_keys").paginate())
    assert after == before


def test_signature_errors_do_not_reveal_the_secret(server):
    response = raw_call(server, "ListKeys", BODY, secret_access_key=random_secret_access_key())
    assert response.error_code == "InvalidSignatureException"
    assert server.secret_access_key.encode() not in response.body
