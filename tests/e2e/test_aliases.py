"""Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases, and aliases as
key identifiers."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from kms_helpers import alias_arn, raises_kms, unique_alias


def aliases_of(kms, key_id: str | None = None) -> list[dict]:
    kwargs = {"KeyId": key_id} if key_id else {}
    return [a for page in kms.get_paginator("list_aliases").paginate(**kwargs) for a in page["Aliases"]]


def test_create_alias_is_listed_with_arn_and_target(kms, key, server, account_id):
    name = unique_alias()
    response = kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    entries = [a for a in aliases_of(kms) if a["AliasName"] == name]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["AliasArn"] == alias_arn(server.region, account_id, name)
    assert entry["TargetKeyId"] == key["KeyId"], "TargetKeyId is the key id, not the ARN"
    assert isinstance(entry["CreationDate"], dt.datetime)
    assert isinstance(entry["LastUpdatedDate"], dt.datetime)


def test_create_alias_with_key_arn_target(kms, key):
    name = unique_alias()
    kms.create_alias(AliasName=name, TargetKeyId=key["Arn"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_list_aliases_for_one_key(kms, new_key, new_alias):
    key, other = new_key(), new_key()
    mine = {new_alias(key["KeyId"]) for _ in range(3)}
    new_alias(other["KeyId"])
    for identifier in (key["KeyId"], key["Arn"]):
        listed = aliases_of(kms, identifier)
        assert {a["AliasName"] for a in listed} == mine
        assert all(a["TargetKeyId"] == key["KeyId"] for a in listed)


def test_list_aliases_of_a_key_without_aliases_is_empty(kms, key):
    page = kms.list_aliases(KeyId=key["KeyId"])
    assert page["Aliases"] == []
    assert page["Truncated"] is False


def test_list_aliases_of_unknown_key_is_not_found(kms):
    with raises_kms("NotFoundException"):
        kms.list_aliases(KeyId=str(uuid.uuid4()))


def test_list_aliases_paginates_without_duplicates_or_gaps(kms, key, new_alias):
    created = {new_alias(key["KeyId"], "page") for _ in range(7)}
    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"KeyId": key["KeyId"], "Limit": 2} | ({"Marker": marker} if marker else {})
        page = kms.list_aliases(**kwargs)
        pages += 1
        assert len(page["Aliases"]) <= 2
        seen += [a["AliasName"] for a in page["Aliases"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
        assert marker and pages < 50
    assert pages >= 4
    assert len(seen) == len(set(seen))
    assert set(seen) == created


def test_list_all_aliases_paginates_over_the_account(kms, key, new_alias):
    created = {new_alias(key["KeyId"], "all") for _ in range(5)}
    pages = list(kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 3}))
    names = [a["AliasName"] for p in pages for a in p["Aliases"]]
    assert len(pages) >= 2
    assert len(names) == len(set(names))
    assert created <= set(names)


@pytest.mark.parametrize("form", ["alias name", "alias ARN"])
def test_alias_resolves_in_cryptographic_operations(form, kms, key, new_alias, server, account_id):
    name = new_alias(key["KeyId"])
    identifier = name if form == "alias name" else alias_arn(server.region, account_id, name)
    blob = kms.encrypt(KeyId=identifier, Plaintext=b"via alias")["CiphertextBlob"]
    dk = kms.generate_data_key(KeyId=identifier, KeySpec="AES_256")
    assert dk["KeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId=identifier)["Plaintext"] == b"via alias"


def test_create_alias_twice_already_exists(kms, new_key):
    first, second = new_key(), new_key()
    name = unique_alias()
    kms.create_alias(AliasName=name, TargetKeyId=first["KeyId"])
    with raises_kms("AlreadyExistsException"):
        kms.create_alias(AliasName=name, TargetKeyId=second["KeyId"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == first["KeyId"]


def test_create_alias_for_unknown_key_is_not_found(kms):
    name = unique_alias()
    with raises_kms("NotFoundException"):
        kms.create_alias(AliasName=name, TargetKeyId=str(uuid.uuid4()))
    with raises_kms("NotFoundException"):
        kms.describe_key(KeyId=name)


def test_alias_cannot_target_another_alias(kms, key, new_alias):
    """TargetKeyId takes a key id or key ARN only ("You cannot specify another alias").
    moto models AWS's answer as ValidationException ("Aliases must refer to keys.
    Not aliases"); NotFoundException is accepted too since AWS's code is not documented."""
    existing = new_alias(key["KeyId"])
    name = unique_alias()
    with raises_kms({"ValidationException", "NotFoundException"}):
        kms.create_alias(AliasName=name, TargetKeyId=existing)
    with raises_kms("NotFoundException"):
        kms.describe_key(KeyId=name)


@pytest.mark.parametrize(
    "name",
    [
        "no-prefix",  # AWS: 'Alias must start with the prefix "alias/".'
        "alias/has space",  # outside ^[a-zA-Z0-9:/_-]+$
        "alias/semi;colon",
        "alias/colon:inside",  # matches the model pattern, but ':' is not allowed in names
        "alias/" + "a" * 251,  # 257 characters
    ],
)
def test_invalid_alias_names_are_validation_errors(name, kms_raw, key):
    with raises_kms("ValidationException"):
        kms_raw.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    with raises_kms({"NotFoundException", "ValidationException"}):
        kms_raw.describe_key(KeyId=name)


def test_longest_valid_alias_name_is_accepted(kms, key):
    name = "alias/" + uuid.uuid4().hex + "a" * (256 - 6 - 32)
    assert len(name) == 256
    kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key["KeyId"]


@pytest.mark.parametrize("name", ["alias/aws/ebs", "alias/aws/e2e-{uuid}"])
def test_reserved_aws_prefix_is_refused(name, kms, key):
    """alias/aws/ is reserved for AWS managed keys. moto, which mirrors AWS's
    responses, answers NotAuthorizedException (HTTP 400) for it."""
    name = name.format(uuid=uuid.uuid4().hex[:12])
    with raises_kms("NotAuthorizedException"):
        kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert name not in {a["AliasName"] for a in aliases_of(kms, key["KeyId"])}


def test_update_alias_points_it_at_another_key(kms, new_key):
    first, second = new_key(), new_key()
    name = unique_alias()
    kms.create_alias(AliasName=name, TargetKeyId=first["KeyId"])
    old_blob = kms.encrypt(KeyId=name, Plaintext=b"old")["CiphertextBlob"]
    kms.update_alias(AliasName=name, TargetKeyId=second["Arn"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == second["KeyId"]
    enc = kms.encrypt(KeyId=name, Plaintext=b"new")
    assert enc["KeyId"] == second["Arn"]
    assert kms.decrypt(CiphertextBlob=old_blob)["KeyId"] == first["Arn"]
    assert [a["AliasName"] for a in aliases_of(kms, first["KeyId"])] == []
    assert [a["AliasName"] for a in aliases_of(kms, second["KeyId"])] == [name]


def test_update_alias_to_a_disabled_key_is_allowed(kms, new_key):
    first, second = new_key(), new_key()
    kms.disable_key(KeyId=second["KeyId"])
    name = unique_alias()
    kms.create_alias(AliasName=name, TargetKeyId=first["KeyId"])
    kms.update_alias(AliasName=name, TargetKeyId=second["KeyId"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyState"] == "Disabled"


def test_update_unknown_alias_is_not_found(kms, key):
    with raises_kms("NotFoundException"):
        kms.update_alias(AliasName=unique_alias(), TargetKeyId=key["KeyId"])


def test_update_alias_to_unknown_key_is_not_found(kms, key, new_alias):
    name = new_alias(key["KeyId"])
    with raises_kms("NotFoundException"):
        kms.update_alias(AliasName=name, TargetKeyId=str(uuid.uuid4()))
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_delete_alias_keeps_the_key(kms, key, new_alias):
    name = new_alias(key["KeyId"])
    blob = kms.encrypt(KeyId=name, Plaintext=b"survives")["CiphertextBlob"]
    kms.delete_alias(AliasName=name)
    with raises_kms("NotFoundException"):
        kms.describe_key(KeyId=name)
    with raises_kms("NotFoundException"):
        kms.encrypt(KeyId=name, Plaintext=b"x")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"survives"
    assert name not in {a["AliasName"] for a in aliases_of(kms)}
    kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])  # the name is free again


def test_delete_unknown_alias_is_not_found(kms):
    with raises_kms("NotFoundException"):
        kms.delete_alias(AliasName=unique_alias())
