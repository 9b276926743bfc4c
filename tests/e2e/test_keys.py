"""Key lifecycle: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription,
EnableKey, DisableKey, and the identifier forms they accept."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from kms_helpers import UUID_RE, alias_arn, kms_client, raises_kms, unique

SYMMETRIC_METADATA = {
    "Enabled": True,
    "KeyUsage": "ENCRYPT_DECRYPT",
    "KeyState": "Enabled",
    "Origin": "AWS_KMS",
    "KeyManager": "CUSTOMER",
    "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
    "KeySpec": "SYMMETRIC_DEFAULT",
    "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    "MultiRegion": False,
}


def assert_symmetric_metadata(meta: dict, server, account_id: str, description: str) -> None:
    assert re.fullmatch(UUID_RE, meta["KeyId"]), meta["KeyId"]
    assert meta["AWSAccountId"] == account_id
    assert meta["Arn"] == f"arn:aws:kms:{server.region}:{account_id}:key/{meta['KeyId']}"
    assert meta["Description"] == description
    for field, expected in SYMMETRIC_METADATA.items():
        assert meta.get(field) == expected, f"{field}: {meta.get(field)!r} != {expected!r}"
    created = meta["CreationDate"]
    assert isinstance(created, dt.datetime)
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - created).total_seconds()) < 300, f"CreationDate {created} is not now ({now})"
    for absent in ("DeletionDate", "SigningAlgorithms", "MacAlgorithms", "ValidTo"):
        assert absent not in meta, f"symmetric key metadata carries {absent}"


def test_create_key_returns_complete_metadata(kms, server, account_id):
    description = unique("create")
    meta = kms.create_key(Description=description)["KeyMetadata"]
    assert_symmetric_metadata(meta, server, account_id, description)


def test_create_key_with_every_explicit_default(kms, server, account_id):
    description = unique("explicit")
    meta = kms.create_key(
        Description=description,
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        Origin="AWS_KMS",
        MultiRegion=False,
    )["KeyMetadata"]
    assert_symmetric_metadata(meta, server, account_id, description)


def test_create_key_accepts_deprecated_customer_master_key_spec(kms, server, account_id):
    description = unique("cmkspec")
    meta = kms.create_key(Description=description, CustomerMasterKeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
    assert_symmetric_metadata(meta, server, account_id, description)


def test_create_key_without_description_has_empty_description(kms):
    meta = kms.create_key()["KeyMetadata"]
    assert meta["Description"] == ""


def test_description_keeps_unicode_and_maximum_length(kms):
    text = "Ünïcødé ✓ " + "d" * (8192 - 10)
    assert len(text) == 8192
    meta = kms.create_key(Description=text)["KeyMetadata"]
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == text


def test_key_ids_are_unique(kms):
    ids = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)]
    assert len(set(ids)) == 5


def test_describe_key_matches_create(kms, key):
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    created_then = key["CreationDate"]
    created_now = described.pop("CreationDate")
    assert abs((created_now - created_then).total_seconds()) < 1
    assert described == {k: v for k, v in key.items() if k != "CreationDate"}


@pytest.mark.parametrize("form", ["key id", "key ARN", "alias name", "alias ARN"])
def test_describe_key_accepts_every_identifier_form(form, kms, key, new_alias, server, account_id):
    alias = new_alias(key["KeyId"])
    identifier = {
        "key id": key["KeyId"],
        "key ARN": key["Arn"],
        "alias name": alias,
        "alias ARN": alias_arn(server.region, account_id, alias),
    }[form]
    assert kms.describe_key(KeyId=identifier)["KeyMetadata"]["KeyId"] == key["KeyId"]


@pytest.mark.parametrize("form", ["uuid", "key ARN", "alias name", "alias ARN", "malformed"])
def test_describe_unknown_key_is_not_found(form, kms, server, account_id):
    missing = str(uuid.uuid4())
    identifier = {
        "uuid": missing,
        "key ARN": f"arn:aws:kms:{server.region}:{account_id}:key/{missing}",
        "alias name": f"alias/{unique('missing')}",
        "alias ARN": alias_arn(server.region, account_id, f"alias/{unique('missing')}"),
        # AWS answers NotFoundException ("Invalid keyId …") for ids that are not UUIDs.
        "malformed": "not-a-key-id",
    }[form]
    with raises_kms("NotFoundException"):
        kms.describe_key(KeyId=identifier)


def test_list_keys_entries_are_id_and_arn(kms, key):
    entries = [k for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]]
    assert {"KeyId": key["KeyId"], "KeyArn": key["Arn"]} in entries
    for entry in entries:
        assert set(entry) == {"KeyId", "KeyArn"}
        assert entry["KeyArn"].endswith(":key/" + entry["KeyId"])


def _all_keys_by_marker(kms, limit: int) -> list[str]:
    ids, marker, pages = [], None, 0
    while True:
        kwargs = {"Limit": limit} | ({"Marker": marker} if marker else {})
        page = kms.list_keys(**kwargs)
        pages += 1
        assert len(page["Keys"]) <= limit
        ids += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            assert not page.get("NextMarker"), "NextMarker on the last page"
            return ids
        assert page["Keys"], "a truncated page must not be empty"
        assert page.get("NextMarker"), "Truncated without NextMarker"
        marker = page["NextMarker"]
        assert pages < 10_000, "pagination does not end"


def test_list_keys_paginates_without_duplicates_or_gaps(kms):
    created = {kms.create_key(Description=unique("page"))["KeyMetadata"]["KeyId"] for _ in range(7)}
    paged = _all_keys_by_marker(kms, limit=3)
    assert len(paged) == len(set(paged)), "a key appears on two pages"
    assert created <= set(paged), "created keys missing from the paged listing"
    everything = _all_keys_by_marker(kms, limit=1000)
    assert set(paged) == set(everything)


def test_list_keys_with_limit_one_is_truncated(kms, key):
    page = kms.list_keys(Limit=1)
    assert len(page["Keys"]) == 1
    assert page["Truncated"] is True
    assert page["NextMarker"]


def test_list_keys_paginator_yields_every_key_once(kms):
    created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(4)}
    pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 2
    ids = [k["KeyId"] for p in pages for k in p["Keys"]]
    assert len(ids) == len(set(ids))
    assert created <= set(ids)


def test_list_keys_rejects_a_forged_marker(kms, key):
    # AWS markers are opaque; one that KMS did not issue is InvalidMarkerException.
    with raises_kms("InvalidMarkerException"):
        kms.list_keys(Limit=1, Marker="this-marker-was-never-issued")


def test_update_key_description(kms, key):
    text = unique("updated")
    kms.update_key_description(KeyId=key["KeyId"], Description=text)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == text
    kms.update_key_description(KeyId=key["Arn"], Description="")
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == ""


def test_update_key_description_of_unknown_key_is_not_found(kms):
    with raises_kms("NotFoundException"):
        kms.update_key_description(KeyId=str(uuid.uuid4()), Description="x")


def test_disable_and_enable_key(kms, key):
    kms.disable_key(KeyId=key["KeyId"])
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (meta["Enabled"], meta["KeyState"]) == (False, "Disabled")
    kms.enable_key(KeyId=key["Arn"])
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (meta["Enabled"], meta["KeyState"]) == (True, "Enabled")


def test_disable_and_enable_are_idempotent(kms, key):
    kms.disable_key(KeyId=key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.parametrize("operation", ["enable_key", "disable_key"])
def test_enable_disable_unknown_key_is_not_found(operation, kms):
    with raises_kms("NotFoundException"):
        getattr(kms, operation)(KeyId=str(uuid.uuid4()))


def test_disabled_key_still_allows_management(kms, key, new_alias):
    """AWS's key-state table: a Disabled key can be described, renamed, tagged,
    aliased and have its policy read and written."""
    kms.disable_key(KeyId=key["KeyId"])
    kms.update_key_description(KeyId=key["KeyId"], Description="still manageable")
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "state", "TagValue": "disabled"}])
    alias = new_alias(key["KeyId"])
    policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
    meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
    assert (meta["Description"], meta["KeyState"]) == ("still manageable", "Disabled")
    tags = kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]
    assert {"TagKey": "state", "TagValue": "disabled"} in tags


@pytest.mark.parametrize(
    "operation, extra",
    [
        ("describe_key", {}),
        ("update_key_description", {"Description": "by arn"}),
        ("disable_key", {}),
        ("enable_key", {}),
        ("list_resource_tags", {}),
        ("list_key_policies", {}),
        ("get_key_policy", {"PolicyName": "default"}),
    ],
)
@pytest.mark.parametrize("form", ["KeyId", "Arn"])
def test_key_management_accepts_key_id_and_key_arn(operation, extra, form, kms, key):
    # These operations document "key ID or key ARN"; both must work.
    response = getattr(kms, operation)(KeyId=key[form], **extra)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_keys_live_in_the_region_of_the_credential_scope(server, kms, account_id):
    """The signature's region selects the region; a key created in eu-west-1 has an
    eu-west-1 ARN and is not visible from us-east-1 (AWS: keys are regional)."""
    assert server.region != "eu-west-1"
    eu = kms_client(server.endpoint, server.access_key_id, server.secret_access_key, "eu-west-1")
    meta = eu.create_key(Description=unique("eu"))["KeyMetadata"]
    assert meta["Arn"] == f"arn:aws:kms:eu-west-1:{account_id}:key/{meta['KeyId']}"
    assert eu.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Arn"] == meta["Arn"]
    blob = eu.encrypt(KeyId=meta["KeyId"], Plaintext=b"regional")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"regional"
    with raises_kms("NotFoundException"):
        kms.describe_key(KeyId=meta["KeyId"])
    listed_here = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert meta["KeyId"] not in listed_here
