"""Error paths that every AWS JSON client relies on: ValidationException naming
the member, SerializationException, UnknownOperationException,
UnsupportedOperationException, NotFoundException, and the response envelope.

The model-driven sweep of every constraint lives in test_model_coverage.py;
this file keeps the cases the spec names explicitly, readable one by one.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest

from kms_helpers import JSON_CONTENT_TYPE, raises_kms, raw_call, unique, unique_alias


def _key_count(kms) -> int:
    return sum(len(p["Keys"]) for p in kms.get_paginator("list_keys").paginate())


# -- ValidationException -----------------------------------------------------------------

VALIDATION_CASES = [
    # (id, operation, parameters (KEY -> the test key's id), member named in the message)
    ("encrypt without KeyId", "encrypt", {"Plaintext": b"x"}, "keyId"),
    ("encrypt without Plaintext", "encrypt", {"KeyId": "KEY"}, "plaintext"),
    ("empty plaintext", "encrypt", {"KeyId": "KEY", "Plaintext": b""}, "plaintext"),
    ("plaintext of 4097 bytes", "encrypt", {"KeyId": "KEY", "Plaintext": b"p" * 4097}, "plaintext"),
    ("KeyId of 2049 characters", "describe_key", {"KeyId": "k" * 2049}, "keyId"),
    ("empty KeyId", "describe_key", {"KeyId": ""}, "keyId"),
    ("Description of 8193 characters", "create_key", {"Description": "d" * 8193}, "description"),
    ("KeyUsage outside the enum", "create_key", {"KeyUsage": "ENCRYPT_EVERYTHING"}, "keyUsage"),
    ("KeySpec outside the enum", "create_key", {"KeySpec": "AES_512"}, "keySpec"),
    ("Origin outside the enum", "create_key", {"Origin": "MY_BASEMENT"}, "origin"),
    ("GenerateDataKey NumberOfBytes 0", "generate_data_key", {"KeyId": "KEY", "NumberOfBytes": 0}, "numberOfBytes"),
    ("GenerateDataKey NumberOfBytes 1025", "generate_data_key",
     {"KeyId": "KEY", "NumberOfBytes": 1025}, "numberOfBytes"),
    ("data key KeySpec outside the enum", "generate_data_key", {"KeyId": "KEY", "KeySpec": "AES_512"}, "keySpec"),
    ("GenerateRandom NumberOfBytes 0", "generate_random", {"NumberOfBytes": 0}, "numberOfBytes"),
    ("GenerateRandom NumberOfBytes 1025", "generate_random", {"NumberOfBytes": 1025}, "numberOfBytes"),
    ("ListKeys Limit 0", "list_keys", {"Limit": 0}, "limit"),
    ("ListKeys Limit 1001", "list_keys", {"Limit": 1001}, "limit"),
    ("empty Marker", "list_keys", {"Marker": ""}, "marker"),
    ("EncryptionAlgorithm outside the enum", "encrypt",
     {"KeyId": "KEY", "Plaintext": b"x", "EncryptionAlgorithm": "ROT13"}, "encryptionAlgorithm"),
    ("eleven grant tokens", "encrypt", {"KeyId": "KEY", "Plaintext": b"x", "GrantTokens": ["t"] * 11}, "grantTokens"),
    ("UpdateKeyDescription without Description", "update_key_description", {"KeyId": "KEY"}, "description"),
    ("TagResource without Tags", "tag_resource", {"KeyId": "KEY"}, "tags"),
    ("tag without TagValue", "tag_resource", {"KeyId": "KEY", "Tags": [{"TagKey": "k"}]}, "tagValue"),
    ("CreateAlias without TargetKeyId", "create_alias", {"AliasName": "ALIAS"}, "targetKeyId"),
    ("alias name outside the pattern", "create_alias",
     {"AliasName": "alias/not allowed!", "TargetKeyId": "KEY"}, "aliasName"),
    ("alias name of 257 characters", "create_alias",
     {"AliasName": "alias/" + "a" * 251, "TargetKeyId": "KEY"}, "aliasName"),
    ("PutKeyPolicy without Policy", "put_key_policy", {"KeyId": "KEY", "PolicyName": "default"}, "policy"),
    ("ciphertext of 6145 bytes", "decrypt", {"CiphertextBlob": b"c" * 6145}, "ciphertextBlob"),
    ("empty ciphertext", "decrypt", {"CiphertextBlob": b""}, "ciphertextBlob"),
]


@pytest.mark.parametrize("case", VALIDATION_CASES, ids=[c[0] for c in VALIDATION_CASES])
def test_validation_exception_names_the_member(case, kms_raw, key):
    _, operation, params, member = case
    params = {k: (key["KeyId"] if v == "KEY" else unique_alias() if v == "ALIAS" else v)
              for k, v in params.items()}
    with raises_kms("ValidationException", 400, mentions=(member,)):
        getattr(kms_raw, operation)(**params)


def test_validation_message_follows_aws_wording(kms_raw):
    """AWS: "1 validation error detected: Value '…' at 'limit' failed to satisfy
    constraint: Member must have value greater than or equal to 1"."""
    with raises_kms("ValidationException") as info:
        kms_raw.list_keys(Limit=0)
    message = info.value.response["Error"]["Message"]
    assert re.search(r"\bvalidation errors? detected\b", message), message
    assert "'limit'" in message, message


def test_oversized_plaintext_is_not_echoed_in_the_error(kms_raw, key):
    """AWS omits the value of sensitive members ("Value at 'plaintext' failed …")."""
    secret = b"OVERSIZED-SECRET-" + uuid.uuid4().hex.encode()
    plaintext = (secret * (4097 // len(secret) + 1))[:4097]
    with raises_kms("ValidationException", mentions=("plaintext",)) as info:
        kms_raw.encrypt(KeyId=key["KeyId"], Plaintext=plaintext)
    message = info.value.response["Error"]["Message"]
    assert secret.decode() not in message
    assert base64.b64encode(plaintext)[:40].decode() not in message


def test_invalid_create_key_creates_nothing(kms_raw):
    before = _key_count(kms_raw)
    with raises_kms("ValidationException"):
        kms_raw.create_key(Description="d" * 8193)
    with raises_kms("ValidationException"):
        kms_raw.create_key(KeyUsage="NOPE")
    assert _key_count(kms_raw) == before


# -- NotFoundException -------------------------------------------------------------------

NOT_FOUND_CALLS = [
    ("describe_key", {}), ("enable_key", {}), ("disable_key", {}),
    ("update_key_description", {"Description": "x"}),
    ("encrypt", {"Plaintext": b"x"}), ("generate_data_key", {"KeySpec": "AES_256"}),
    ("generate_data_key_without_plaintext", {"NumberOfBytes": 16}),
    ("tag_resource", {"Tags": [{"TagKey": "a", "TagValue": "b"}]}), ("untag_resource", {"TagKeys": ["a"]}),
    ("list_resource_tags", {}), ("get_key_policy", {"PolicyName": "default"}), ("list_key_policies", {}),
    ("list_aliases", {}),
]


@pytest.mark.parametrize("operation, extra", NOT_FOUND_CALLS, ids=[c[0] for c in NOT_FOUND_CALLS])
@pytest.mark.parametrize("form", ["key id", "key ARN"])
def test_unknown_key_is_not_found_everywhere(operation, extra, form, kms, server, account_id):
    missing = str(uuid.uuid4())
    identifier = missing if form == "key id" else f"arn:aws:kms:{server.region}:{account_id}:key/{missing}"
    with raises_kms("NotFoundException", 400):
        getattr(kms, operation)(KeyId=identifier, **extra)


@pytest.mark.parametrize("operation, extra", [
    ("describe_key", {}), ("encrypt", {"Plaintext": b"x"}), ("generate_data_key", {"NumberOfBytes": 8}),
])
def test_unknown_alias_is_not_found(operation, extra, kms):
    with raises_kms("NotFoundException", 400):
        getattr(kms, operation)(KeyId=unique_alias("missing"), **extra)


# -- UnsupportedOperationException ---------------------------------------------------------


@pytest.mark.parametrize("operation, params", [
    ("sign", {"Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"}),
    ("verify", {"Message": b"m", "Signature": b"s", "SigningAlgorithm": "ECDSA_SHA_256"}),
    ("get_public_key", {}),
    ("generate_mac", {"Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}),
])
def test_unimplemented_operation_is_unsupported_and_named(operation, params, kms, key):
    name = "".join(part.capitalize() for part in operation.split("_"))
    with raises_kms("UnsupportedOperationException", 400) as info:
        getattr(kms, operation)(KeyId=key["KeyId"], **params)
    assert re.search(rf"\b{name}\b", info.value.response["Error"]["Message"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


# -- the raw protocol ------------------------------------------------------------------------


def test_unknown_operation(server):
    for target in ("TrentService.NoSuchOperation", "DynamoDB_20120810.ListTables"):
        response = raw_call(server, target, {})
        assert response.status == 400, target
        assert response.error_code == "UnknownOperationException", (target, response.body)


@pytest.mark.parametrize(
    "target, body",
    [
        ("ListKeys", b"this is not json"),
        ("ListKeys", b'{"Limit": 5'),
        ("ListKeys", b"[1, 2, 3]"),
        ("DescribeKey", b'{"KeyId": 12345}'),
        ("DescribeKey", b'{"KeyId": ["a", "b"]}'),
        ("DescribeKey", b'{"KeyId": {"nested": true}}'),
        ("GenerateRandom", b'{"NumberOfBytes": "thirty-two"}'),
        ("GenerateRandom", b'{"NumberOfBytes": {"n": 1}}'),
        ("CreateKey", b'{"Tags": {"TagKey": "a", "TagValue": "b"}}'),
        ("Encrypt", b'{"KeyId": "alias/x", "Plaintext": "%%% not base64 %%%"}'),
    ],
    ids=["not json", "truncated json", "top-level array", "number for string", "list for string",
         "object for string", "string for integer", "object for integer", "object for list", "bad base64"],
)
def test_body_that_does_not_fit_the_shape_is_a_serialization_error(target, body, server):
    response = raw_call(server, target, body)
    assert response.status == 400, response.body
    assert response.error_code == "SerializationException", response.body


def test_unknown_members_are_ignored(server, key):
    """Coral-based services ignore members they do not know, so newer SDKs keep
    working against an older server."""
    response = raw_call(server, "Encrypt", {
        "KeyId": key["KeyId"], "Plaintext": base64.b64encode(b"hi").decode(), "FutureMember": {"x": 1}})
    assert response.status == 200, response.body
    assert response.json["KeyId"] == key["Arn"]


def test_success_envelope(server, key):
    response = raw_call(server, "DescribeKey", {"KeyId": key["KeyId"]})
    assert response.status == 200
    assert response.header("Content-Type").startswith(JSON_CONTENT_TYPE)
    assert response.header("x-amzn-RequestId")
    assert response.json["KeyMetadata"]["KeyId"] == key["KeyId"]
    creation = response.json["KeyMetadata"]["CreationDate"]
    assert isinstance(creation, (int, float)), "timestamps are epoch seconds as JSON numbers"


def test_empty_result_is_an_empty_object(server, key):
    response = raw_call(server, "UpdateKeyDescription", {"KeyId": key["KeyId"], "Description": "x"})
    assert response.status == 200
    assert response.json == {}


def test_error_envelope(server):
    response = raw_call(server, "DescribeKey", {"KeyId": str(uuid.uuid4())})
    assert response.status == 400
    assert response.header("Content-Type").startswith(JSON_CONTENT_TYPE)
    assert response.error_code == "NotFoundException"
    assert response.error_message, "errors carry a message"
    assert response.header("x-amzn-RequestId")


def test_request_ids_are_unique(server):
    ids = {raw_call(server, "ListKeys", {"Limit": 1}).header("x-amzn-RequestId") for _ in range(5)}
    assert len(ids) == 5 and None not in ids


def test_error_codes_and_messages_reach_boto3(kms):
    """botocore takes the code from __type and exposes the request id."""
    with raises_kms("NotFoundException") as info:
        kms.describe_key(KeyId=str(uuid.uuid4()))
    assert info.value.response["ResponseMetadata"].get("RequestId")
    assert info.value.response["Error"]["Message"]
    assert isinstance(info.value, kms.exceptions.NotFoundException)


def test_json_body_with_unicode_description_round_trips(server):
    text = unique("ünï-☃")
    created = raw_call(server, "CreateKey", {"Description": text})
    assert created.status == 200
    assert created.json["KeyMetadata"]["Description"] == text
    assert json.loads(created.body)["KeyMetadata"]["Description"] == text
