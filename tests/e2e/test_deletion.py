"""Key deletion: ScheduleKeyDeletion, CancelKeyDeletion, the PendingDeletion key
state, and the end of the waiting period driven by the test-only clock
(`--dev-clock-control`).

AWS sources: the API reference carried in botocore's KMS model and the "Key
states of AWS KMS keys" table. Where the issue's spec and AWS differ the test
says so.
"""

from __future__ import annotations

import time
import uuid

import pytest

from kms_helpers import DAY_S, kms_client, raises_kms, unique, unique_alias
from strongroom_server import CLOCK_CONTROL_ARGS

TOLERANCE_S = 120


def describe(kms, key_id: str) -> dict:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]


def epoch(value) -> float:
    return value.timestamp()


def listed_key_ids(kms) -> set[str]:
    return {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}


def listed_aliases(kms) -> dict[str, str | None]:
    return {a["AliasName"]: a.get("TargetKeyId")
            for p in kms.get_paginator("list_aliases").paginate() for a in p["Aliases"]}


def assert_pending(kms, key_id: str, deletion_date: float, window: int) -> None:
    meta = describe(kms, key_id)
    assert meta["KeyState"] == "PendingDeletion"
    assert meta["Enabled"] is False
    assert abs(epoch(meta["DeletionDate"]) - deletion_date) < 1, (meta["DeletionDate"], deletion_date)
    # The spec: DescribeKey shows the window. (AWS documents
    # PendingDeletionWindowInDays for multi-Region primaries in PendingReplicaDeletion only.)
    assert meta["PendingDeletionWindowInDays"] == window


# -- schedule and cancel ------------------------------------------------------------


def test_schedule_key_deletion_defaults_to_thirty_days(kms, key):
    response = kms.schedule_key_deletion(KeyId=key["KeyId"])
    scheduled_at = time.time()
    assert response["KeyId"] == key["Arn"]
    assert response["KeyState"] == "PendingDeletion"
    assert response["PendingWindowInDays"] == 30
    deletion = epoch(response["DeletionDate"])
    assert abs(deletion - (scheduled_at + 30 * DAY_S)) < TOLERANCE_S
    assert_pending(kms, key["KeyId"], deletion, 30)


def test_schedule_key_deletion_with_seven_days_by_arn(kms, key):
    response = kms.schedule_key_deletion(KeyId=key["Arn"], PendingWindowInDays=7)
    scheduled_at = time.time()
    assert (response["KeyId"], response["KeyState"], response["PendingWindowInDays"]) == (
        key["Arn"], "PendingDeletion", 7)
    deletion = epoch(response["DeletionDate"])
    assert abs(deletion - (scheduled_at + 7 * DAY_S)) < TOLERANCE_S
    assert_pending(kms, key["KeyId"], deletion, 7)


def test_a_key_pending_deletion_is_still_listed_and_described_by_alias(kms, key, new_alias):
    alias = new_alias(key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=10)
    assert key["KeyId"] in listed_key_ids(kms)
    assert describe(kms, alias)["KeyState"] == "PendingDeletion"
    assert listed_aliases(kms)[alias] == key["KeyId"]


def test_schedule_deletion_of_a_disabled_key(kms, key):
    kms.disable_key(KeyId=key["KeyId"])
    response = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=8)
    assert (response["KeyState"], response["PendingWindowInDays"]) == ("PendingDeletion", 8)
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert describe(kms, key["KeyId"])["KeyState"] == "Disabled"


def _crypto_calls(kms, key_id: str, blob: bytes):
    return {
        "Encrypt": lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
        "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob),
        "Decrypt naming the key": lambda: kms.decrypt(CiphertextBlob=blob, KeyId=key_id),
        "ReEncrypt from it": lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id),
        "GenerateDataKey": lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256"),
        "GenerateDataKeyWithoutPlaintext":
            lambda: kms.generate_data_key_without_plaintext(KeyId=key_id, NumberOfBytes=16),
    }


CRYPTO_CALLS = ["Encrypt", "Decrypt", "Decrypt naming the key", "ReEncrypt from it",
                "GenerateDataKey", "GenerateDataKeyWithoutPlaintext"]


@pytest.mark.parametrize("call", CRYPTO_CALLS)
def test_cryptographic_operations_are_refused_while_pending_deletion(call, kms, key, new_alias):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"made before")["CiphertextBlob"]
    alias = new_alias(key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    for identifier in (key["KeyId"], alias):
        with raises_kms("KMSInvalidStateException"):
            _crypto_calls(kms, identifier, blob)[call]()


def test_reencrypt_to_a_key_pending_deletion_is_refused(kms, key, new_key):
    other = new_key()
    blob = kms.encrypt(KeyId=other["KeyId"], Plaintext=b"moving")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with raises_kms("KMSInvalidStateException"):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key["KeyId"])


@pytest.mark.parametrize("operation", ["enable_key", "disable_key"])
def test_enable_and_disable_are_refused_while_pending_deletion(operation, kms, key):
    """AWS key-state table: EnableKey and DisableKey fail on a key in PendingDeletion
    (KMSInvalidStateException); only CancelKeyDeletion leaves that state."""
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with raises_kms("KMSInvalidStateException"):
        getattr(kms, operation)(KeyId=key["KeyId"])
    assert describe(kms, key["KeyId"])["KeyState"] == "PendingDeletion"


def test_cancel_leaves_the_key_disabled_and_enable_key_restores_it(kms, key, new_alias):
    alias = new_alias(key["KeyId"])
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "keep", "TagValue": "me"}])
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"survives cancel")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)

    response = kms.cancel_key_deletion(KeyId=key["Arn"])
    assert response["KeyId"] == key["Arn"]
    meta = describe(kms, key["KeyId"])
    assert (meta["KeyState"], meta["Enabled"]) == ("Disabled", False)
    assert "DeletionDate" not in meta and "PendingDeletionWindowInDays" not in meta
    with raises_kms("DisabledException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")

    kms.enable_key(KeyId=key["KeyId"])
    meta = describe(kms, alias)
    assert (meta["KeyId"], meta["KeyState"], meta["Enabled"]) == (key["KeyId"], "Enabled", True)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"survives cancel"
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "keep", "TagValue": "me"}]
    # and it can be scheduled again
    assert kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=9)["PendingWindowInDays"] == 9


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [6, 31])
def test_window_outside_seven_to_thirty_days_is_rejected(days, kms, key):
    """Inside the model's 1–365 but outside AWS's documented 7–30."""
    with raises_kms("ValidationException"):
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=days)
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"


@pytest.mark.parametrize("days", [0, 366])
def test_window_outside_the_model_names_the_member(days, kms_raw, key):
    with raises_kms("ValidationException", mentions=("pendingWindowInDays",)):
        kms_raw.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=days)
    assert describe(kms_raw, key["KeyId"])["KeyState"] == "Enabled"


def test_scheduling_twice_is_an_invalid_state(kms, key):
    first = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=20)
    with raises_kms("KMSInvalidStateException"):
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert_pending(kms, key["KeyId"], epoch(first["DeletionDate"]), 20)


@pytest.mark.parametrize("state", ["Enabled", "Disabled"])
def test_cancel_without_a_pending_deletion_is_an_invalid_state(state, kms, key):
    if state == "Disabled":
        kms.disable_key(KeyId=key["KeyId"])
    with raises_kms("KMSInvalidStateException"):
        kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert describe(kms, key["KeyId"])["KeyState"] == state


@pytest.mark.parametrize("operation", ["schedule_key_deletion", "cancel_key_deletion"])
def test_deletion_operations_on_an_unknown_key_are_not_found(operation, kms, server, account_id):
    missing = str(uuid.uuid4())
    for identifier in (missing, f"arn:aws:kms:{server.region}:{account_id}:key/{missing}"):
        with raises_kms("NotFoundException"):
            getattr(kms, operation)(KeyId=identifier)


# -- the end of the waiting period ------------------------------------------------------------


def test_the_key_is_destroyed_when_the_window_ends(clock_server, clock_kms):
    kms = clock_kms
    doomed = kms.create_key(Description=unique("doomed"),
                            Tags=[{"TagKey": "doomed", "TagValue": "yes"}])["KeyMetadata"]
    kept = kms.create_key(Description=unique("kept"))["KeyMetadata"]
    doomed_alias, second_alias, kept_alias = unique_alias("doomed"), unique_alias("doomed2"), unique_alias("kept")
    kms.create_alias(AliasName=doomed_alias, TargetKeyId=doomed["KeyId"])
    kms.create_alias(AliasName=second_alias, TargetKeyId=doomed["KeyId"])
    kms.create_alias(AliasName=kept_alias, TargetKeyId=kept["KeyId"])
    context = {"purpose": "deletion"}
    doomed_blob = kms.encrypt(KeyId=doomed["KeyId"], Plaintext=b"lost", EncryptionContext=context)["CiphertextBlob"]
    kept_blob = kms.encrypt(KeyId=kept["KeyId"], Plaintext=b"kept")["CiphertextBlob"]
    scheduled = kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
    deletion = epoch(scheduled["DeletionDate"])

    jump = clock_server.advance_clock(6 * DAY_S)
    assert jump["deleted"] == 0, f"deleted a day before the window ended: {jump}"
    assert jump["now"] < deletion
    assert_pending(kms, doomed["KeyId"], deletion, 7)
    assert listed_aliases(kms)[doomed_alias] == doomed["KeyId"]

    jump = clock_server.advance_clock(2 * DAY_S)
    assert jump["deleted"] == 1, jump
    assert jump["now"] > deletion
    for identifier in (doomed["KeyId"], doomed["Arn"], doomed_alias):
        with raises_kms("NotFoundException"):
            kms.describe_key(KeyId=identifier)
    with raises_kms("NotFoundException"):
        kms.list_resource_tags(KeyId=doomed["KeyId"])
    with raises_kms("NotFoundException"):
        kms.cancel_key_deletion(KeyId=doomed["KeyId"])
    aliases = listed_aliases(kms)
    assert doomed_alias not in aliases and second_alias not in aliases, "aliases of the deleted key remain"
    assert aliases.get(kept_alias) == kept["KeyId"], "another key's alias was touched"
    ids = listed_key_ids(kms)
    assert doomed["KeyId"] not in ids and kept["KeyId"] in ids
    # The spec: the blob names a key that no longer exists.
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=doomed_blob, EncryptionContext=context)
    assert kms.decrypt(CiphertextBlob=kept_blob)["Plaintext"] == b"kept"
    assert describe(kms, kept_alias)["KeyState"] == "Enabled"
    # the alias name is free again
    kms.create_alias(AliasName=doomed_alias, TargetKeyId=kept["KeyId"])
    assert describe(kms, doomed_alias)["KeyId"] == kept["KeyId"]


def test_a_cancelled_deletion_is_not_carried_out(clock_server, clock_kms):
    kms = clock_kms
    key_id = kms.create_key(Description=unique("reprieve"))["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"reprieved")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    clock_server.advance_clock(5 * DAY_S)
    kms.cancel_key_deletion(KeyId=key_id)
    jump = clock_server.advance_clock(10 * DAY_S)
    assert jump["deleted"] == 0, jump
    assert describe(kms, key_id)["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"reprieved"


def test_the_deletion_date_is_counted_on_the_server_clock(clock_server, clock_kms):
    clock_server.advance_clock(40 * DAY_S)
    key_id = clock_kms.create_key(Description=unique("clock-deletion"))["KeyMetadata"]["KeyId"]
    response = clock_kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    now = clock_server.clock_now()
    assert abs(epoch(response["DeletionDate"]) - (now + 7 * DAY_S)) < TOLERANCE_S


# -- persistence --------------------------------------------------------------------------------


def _client(srv):
    return kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)


@pytest.mark.parametrize("how", ["graceful restart", "SIGKILL"])
def test_a_pending_deletion_survives_a_restart(how, make_server):
    srv = make_server("pending-restart")
    srv.start()
    kms = _client(srv)
    pending = kms.create_key(Description=unique("pending"))["KeyMetadata"]["KeyId"]
    cancelled = kms.create_key(Description=unique("cancelled"))["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=cancelled, Plaintext=b"after restart")["CiphertextBlob"]
    scheduled = kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=12)
    kms.schedule_key_deletion(KeyId=cancelled, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=cancelled)
    if how == "SIGKILL":
        srv.kill()
    else:
        assert srv.stop() == 0
    srv.start()
    kms = _client(srv)
    assert_pending(kms, pending, epoch(scheduled["DeletionDate"]), 12)
    with raises_kms("KMSInvalidStateException"):
        kms.encrypt(KeyId=pending, Plaintext=b"x")
    assert describe(kms, cancelled)["KeyState"] == "Disabled"
    kms.enable_key(KeyId=cancelled)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after restart"


def test_a_deleted_key_stays_deleted_after_a_restart(make_server):
    srv = make_server("deleted-restart", extra_args=CLOCK_CONTROL_ARGS)
    srv.start()
    kms = _client(srv)
    key_id = kms.create_key(Description=unique("gone"))["KeyMetadata"]["KeyId"]
    alias = unique_alias("gone")
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert srv.advance_clock(8 * DAY_S)["deleted"] == 1
    assert srv.stop() == 0
    srv.start()
    kms = _client(srv)
    with raises_kms("NotFoundException"):
        kms.describe_key(KeyId=key_id)
    assert alias not in listed_aliases(kms)
    assert key_id not in listed_key_ids(kms)
