"""Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
RotateKeyOnDemand, ListKeyRotations, the key material versions behind them, and
automatic rotation driven by the test-only clock (`--dev-clock-control`).

AWS sources: the API reference carried in botocore's KMS model (operation and
member documentation) and the "Key states of AWS KMS keys" table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from kms_helpers import (
    DAY_S,
    KEY_MATERIAL_ID_RE,
    all_key_rotations,
    current_material,
    kms_client,
    raises_kms,
    unique,
)

# Slack between the test's clock and the server's for "≈ now" checks.
TOLERANCE_S = 120
ON_DEMAND_LIMIT = 25


def rotation_status(kms, key_id: str) -> dict:
    response = kms.get_key_rotation_status(KeyId=key_id)
    response.pop("ResponseMetadata")
    return response


def epoch(value) -> float:
    return value.timestamp()


def assert_empty_answer(response: dict) -> None:
    assert set(response) == {"ResponseMetadata"}, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def seal(kms, key_id: str, label: str) -> dict:
    """Encrypt a fresh plaintext under the key's current material; remember which."""
    material = current_material(kms, key_id)
    plaintext = f"{label} ".encode() + os.urandom(12)
    context = {"label": label}
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    return {"material": material, "plaintext": plaintext, "context": context, "blob": blob, "label": label}


def assert_opens(kms, sealed: dict, key_arn: str) -> None:
    out = kms.decrypt(CiphertextBlob=sealed["blob"], EncryptionContext=sealed["context"])
    assert out["Plaintext"] == sealed["plaintext"], sealed["label"]
    assert out["KeyId"] == key_arn
    assert out["KeyMaterialId"] == sealed["material"], (
        f"{sealed['label']}: Decrypt names material {out['KeyMaterialId']}, "
        f"the blob was made by {sealed['material']}")


# -- status, enable, disable ------------------------------------------------------


def test_new_key_has_rotation_off_and_a_single_material(kms, key):
    status = rotation_status(kms, key["KeyId"])
    assert status["KeyRotationEnabled"] is False
    assert status["KeyId"] == key["Arn"]
    assert "NextRotationDate" not in status
    material = current_material(kms, key["KeyId"])
    assert re.fullmatch(KEY_MATERIAL_ID_RE, material), material
    page = kms.list_key_rotations(KeyId=key["KeyId"])
    assert page["Rotations"] == []
    assert page["Truncated"] is False and not page.get("NextMarker")
    everything = all_key_rotations(kms, key["KeyId"], include="ALL_KEY_MATERIAL")
    assert [(e["KeyMaterialId"], e["KeyMaterialState"]) for e in everything] == [(material, "CURRENT")]


def test_enable_disable_and_status_round_trip(kms, key):
    assert_empty_answer(kms.enable_key_rotation(KeyId=key["KeyId"]))
    enabled_at = time.time()
    status = rotation_status(kms, key["KeyId"])
    assert status["KeyRotationEnabled"] is True
    assert status["KeyId"] == key["Arn"]
    assert status["RotationPeriodInDays"] == 365, "the default period is 365 days"
    assert abs(epoch(status["NextRotationDate"]) - (enabled_at + 365 * DAY_S)) < TOLERANCE_S

    assert_empty_answer(kms.disable_key_rotation(KeyId=key["Arn"]))
    status = rotation_status(kms, key["Arn"])
    assert status["KeyRotationEnabled"] is False
    assert status["KeyId"] == key["Arn"]
    assert "NextRotationDate" not in status, "no rotation is scheduled while rotation is off"

    kms.enable_key_rotation(KeyId=key["Arn"], RotationPeriodInDays=180)
    enabled_at = time.time()
    status = rotation_status(kms, key["KeyId"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 180)
    assert abs(epoch(status["NextRotationDate"]) - (enabled_at + 180 * DAY_S)) < TOLERANCE_S


def test_enable_and_disable_rotation_are_idempotent(kms, key):
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=200)
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=200)
    assert rotation_status(kms, key["KeyId"])["RotationPeriodInDays"] == 200
    kms.disable_key_rotation(KeyId=key["KeyId"])
    kms.disable_key_rotation(KeyId=key["KeyId"])
    assert rotation_status(kms, key["KeyId"])["KeyRotationEnabled"] is False


def test_next_rotation_date_is_counted_on_the_server_clock(clock_server, clock_kms):
    jump = clock_server.advance_clock(30 * DAY_S)
    assert jump["now"] - time.time() > 29 * DAY_S
    key_id = clock_kms.create_key(Description=unique("clock"))["KeyMetadata"]["KeyId"]
    clock_kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=100)
    now = clock_server.clock_now()
    status = rotation_status(clock_kms, key_id)
    assert abs(epoch(status["NextRotationDate"]) - (now + 100 * DAY_S)) < TOLERANCE_S, (
        f"NextRotationDate {status['NextRotationDate']} is not the server clock's now ({now}) + 100 days")


@pytest.mark.parametrize("days", [89, 2561])
def test_rotation_period_outside_90_to_2560_is_rejected(days, kms_raw, key):
    with raises_kms("ValidationException", mentions=("rotationPeriodInDays",)):
        kms_raw.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=days)
    assert rotation_status(kms_raw, key["KeyId"])["KeyRotationEnabled"] is False


@pytest.mark.parametrize("days", [90, 2560])
def test_rotation_period_bounds_are_accepted(days, kms, key):
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=days)
    enabled_at = time.time()
    status = rotation_status(kms, key["KeyId"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, days)
    assert abs(epoch(status["NextRotationDate"]) - (enabled_at + days * DAY_S)) < TOLERANCE_S


def test_changing_the_period_of_enabled_rotation(kms, key):
    """EnableKeyRotation on a key that already rotates sets the new period (AWS:
    "use RotationPeriodInDays to modify the rotation period of a key that you
    previously enabled automatic key rotation on"). The key has never rotated
    and rotation was enabled seconds ago, so the next date is ≈ now + period
    however it is counted."""
    kms.enable_key_rotation(KeyId=key["KeyId"])
    assert rotation_status(kms, key["KeyId"])["RotationPeriodInDays"] == 365
    for days in (90, 2560, 400):
        kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=days)
        changed_at = time.time()
        status = rotation_status(kms, key["KeyId"])
        assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, days)
        assert abs(epoch(status["NextRotationDate"]) - (changed_at + days * DAY_S)) < TOLERANCE_S, days


# -- on-demand rotation --------------------------------------------------------------


def test_rotate_on_demand_switches_the_current_material(kms, key):
    key_id = key["KeyId"]
    original = current_material(kms, key_id)
    seen = [original]
    for round_ in range(1, 4):
        identifier = key_id if round_ % 2 else key["Arn"]
        response = kms.rotate_key_on_demand(KeyId=identifier)
        rotated_at = time.time()
        assert response["KeyId"] == key["Arn"]
        now_current = current_material(kms, key_id)
        assert re.fullmatch(KEY_MATERIAL_ID_RE, now_current)
        assert now_current not in seen, "a rotation must make a new current material"
        seen.append(now_current)
        entries = kms.list_key_rotations(KeyId=key_id)["Rotations"]
        assert len(entries) == round_, "ListKeyRotations lists one entry per rotation"
        assert {e["KeyMaterialId"] for e in entries} == set(seen[1:])
        for entry in entries:
            assert entry["KeyId"] == key_id
            assert entry["RotationType"] == "ON_DEMAND"
            expected_state = "CURRENT" if entry["KeyMaterialId"] == now_current else "NON_CURRENT"
            assert entry["KeyMaterialState"] == expected_state, entry
        newest = next(e for e in entries if e["KeyMaterialId"] == now_current)
        assert abs(epoch(newest["RotationDate"]) - rotated_at) < TOLERANCE_S
    # On-demand rotation works whether or not automatic rotation is on, and does not turn it on.
    assert rotation_status(kms, key_id)["KeyRotationEnabled"] is False


def test_on_demand_rotation_keeps_the_automatic_schedule(kms, key):
    """AWS: "On-demand rotations do not change existing automatic rotation schedules"."""
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=730)
    before = rotation_status(kms, key["KeyId"])
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    after = rotation_status(kms, key["KeyId"])
    assert after["KeyRotationEnabled"] is True
    assert after["RotationPeriodInDays"] == 730
    assert abs(epoch(after["NextRotationDate"]) - epoch(before["NextRotationDate"])) < 1, (
        f"NextRotationDate moved from {before['NextRotationDate']} to {after['NextRotationDate']}")


def test_the_twenty_sixth_on_demand_rotation_is_refused(kms, key):
    key_id = key["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"before the limit")["CiphertextBlob"]
    for _ in range(ON_DEMAND_LIMIT):
        kms.rotate_key_on_demand(KeyId=key_id)
    current = current_material(kms, key_id)
    with raises_kms("LimitExceededException"):
        kms.rotate_key_on_demand(KeyId=key_id)
    assert current_material(kms, key_id) == current, "a refused rotation changed the material"
    entries = all_key_rotations(kms, key_id)
    assert len(entries) == ON_DEMAND_LIMIT
    assert len({e["KeyMaterialId"] for e in entries}) == ON_DEMAND_LIMIT
    assert {e["RotationType"] for e in entries} == {"ON_DEMAND"}
    # the key itself keeps working
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before the limit"
    fresh = kms.encrypt(KeyId=key_id, Plaintext=b"after the limit")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=fresh)["KeyMaterialId"] == current


# -- material versions ---------------------------------------------------------------


def test_every_material_version_keeps_decrypting(clock_server, clock_kms):
    """Original, on-demand, automatic, on-demand, automatic: each blob decrypts
    and Decrypt names the material that made it."""
    kms = clock_kms
    meta = kms.create_key(Description=unique("versions"))["KeyMetadata"]
    key_id, key_arn = meta["KeyId"], meta["Arn"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    sealed = [seal(kms, key_id, "original")]
    data_keys = []

    def step(how: str) -> None:
        if how == "ON_DEMAND":
            kms.rotate_key_on_demand(KeyId=key_id)
        else:
            jump = clock_server.advance_clock(91 * DAY_S)
            assert jump["rotated"] == 1, jump
        sealed.append(seal(kms, key_id, f"{how}-{len(sealed)}"))
        dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        # AWS: GenerateDataKey's KeyMaterialId is "the key material used to encrypt the data key".
        assert dk["KeyMaterialId"] == sealed[-1]["material"]
        data_keys.append((dk, sealed[-1]["material"]))

    kinds = ["ON_DEMAND", "AUTOMATIC", "ON_DEMAND", "AUTOMATIC"]
    for how in kinds:
        step(how)
    materials = [s["material"] for s in sealed]
    assert len(set(materials)) == 5, f"each rotation must make a new material: {materials}"
    for item in sealed:
        assert_opens(kms, item, key_arn)
    for dk, material in data_keys:
        out = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])
        assert (out["Plaintext"], out["KeyMaterialId"]) == (dk["Plaintext"], material)

    listed = {e["KeyMaterialId"]: e for e in all_key_rotations(kms, key_id, include="ALL_KEY_MATERIAL")}
    assert set(listed) == set(materials)
    assert "RotationType" not in listed[materials[0]], "the original material is not a rotation"
    for material, how in zip(materials[1:], kinds):
        assert listed[material]["RotationType"] == how, listed[material]
    assert [m for m, e in listed.items() if e["KeyMaterialState"] == "CURRENT"] == [materials[-1]]


def test_reencrypt_moves_an_old_ciphertext_to_the_current_material(kms, key):
    key_id = key["KeyId"]
    old = seal(kms, key_id, "old")
    kms.rotate_key_on_demand(KeyId=key_id)
    kms.rotate_key_on_demand(KeyId=key_id)
    newest = current_material(kms, key_id)
    assert newest != old["material"]
    moved = kms.re_encrypt(
        CiphertextBlob=old["blob"], SourceEncryptionContext=old["context"],
        DestinationKeyId=key_id, DestinationEncryptionContext=old["context"],
    )
    assert moved["SourceKeyId"] == key["Arn"] and moved["KeyId"] == key["Arn"]
    out = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext=old["context"])
    assert out["Plaintext"] == old["plaintext"]
    assert out["KeyMaterialId"] == newest, "ReEncrypt to the same key must use its current material"
    assert_opens(kms, old, key["Arn"])  # the old blob is still good


def test_reencrypt_names_the_source_and_destination_material(kms, key):
    """AWS documents ReEncrypt's SourceKeyMaterialId ("the key material used to
    originally encrypt the data") and DestinationKeyMaterialId ("the key
    material used to reencrypt the data") for symmetric encryption keys."""
    old = seal(kms, key["KeyId"], "source")
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    newest = current_material(kms, key["KeyId"])
    moved = kms.re_encrypt(
        CiphertextBlob=old["blob"], SourceEncryptionContext=old["context"], DestinationKeyId=key["KeyId"])
    assert moved.get("SourceKeyMaterialId") == old["material"], moved
    assert moved.get("DestinationKeyMaterialId") == newest, moved


# -- automatic rotation in time ---------------------------------------------------------


def test_automatic_rotation_happens_when_the_period_has_passed(clock_server, clock_kms):
    kms = clock_kms
    key_id = kms.create_key(Description=unique("auto"))["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    original = current_material(kms, key_id)
    first_due = epoch(rotation_status(kms, key_id)["NextRotationDate"])

    jump = clock_server.advance_clock(89 * DAY_S)
    assert jump["rotated"] == 0, f"rotated a day before the period ended: {jump}"
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []
    assert current_material(kms, key_id) == original

    jump = clock_server.advance_clock(2 * DAY_S)
    assert jump["rotated"] == 1, jump
    entries = all_key_rotations(kms, key_id)
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry["RotationType"] == "AUTOMATIC"
    assert entry["KeyMaterialState"] == "CURRENT"
    assert entry["KeyId"] == key_id
    assert entry["KeyMaterialId"] == current_material(kms, key_id) != original
    assert first_due - TOLERANCE_S <= epoch(entry["RotationDate"]) <= jump["now"] + TOLERANCE_S

    status = rotation_status(kms, key_id)
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 90)
    moved_by = epoch(status["NextRotationDate"]) - first_due
    assert 90 * DAY_S - TOLERANCE_S <= moved_by <= 91 * DAY_S + TOLERANCE_S, (
        f"NextRotationDate moved by {moved_by / DAY_S:.2f} days, expected ~90")
    assert epoch(status["NextRotationDate"]) > jump["now"]

    jump = clock_server.advance_clock(DAY_S)
    assert jump["rotated"] == 0, "rotated again before the next date"
    assert len(all_key_rotations(kms, key_id)) == 1


def test_a_disabled_key_is_rotated_only_once_enabled_again(clock_server, clock_kms):
    """AWS: "while the KMS key is disabled, KMS does not rotate the key material.
    When you re-enable the KMS key, rotation resumes" (rotating at once when
    overdue); and "the key rotation status does not change when you disable a KMS key"."""
    kms = clock_kms
    key_id = kms.create_key(Description=unique("disabled-rotation"))["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    original = current_material(kms, key_id)
    kms.disable_key(KeyId=key_id)
    jump = clock_server.advance_clock(91 * DAY_S)
    assert jump["rotated"] == 0, f"a disabled key was rotated: {jump}"
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []
    assert current_material(kms, key_id) == original
    assert rotation_status(kms, key_id)["KeyRotationEnabled"] is True

    kms.enable_key(KeyId=key_id)
    jump = clock_server.advance_clock(1)
    assert jump["rotated"] == 1, jump
    entries = all_key_rotations(kms, key_id)
    assert [e["RotationType"] for e in entries] == ["AUTOMATIC"]
    assert entries[0]["KeyMaterialId"] == current_material(kms, key_id) != original


def test_the_background_scheduler_rotates_without_a_clock_request(make_server):
    """Due work also runs on the scheduler's own tick (--scheduler-interval)."""
    srv = make_server("scheduler", extra_args=["--dev-clock-control", "--scheduler-interval", "1"])
    srv.start()
    kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    key_id = kms.create_key(Description=unique("tick"))["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    kms.disable_key(KeyId=key_id)
    assert srv.advance_clock(91 * DAY_S)["rotated"] == 0
    kms.enable_key(KeyId=key_id)
    deadline = time.monotonic() + 15
    entries: list = []
    while time.monotonic() < deadline and not entries:
        time.sleep(0.25)
        entries = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [e["RotationType"] for e in entries] == ["AUTOMATIC"], (
        "the scheduler did not rotate the re-enabled, overdue key within 15 s")


def test_rotation_state_survives_a_restart(make_server):
    srv = make_server("rotation-restart")
    srv.start()
    kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    key_id = kms.create_key(Description=unique("restart"))["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=300)
    sealed = [seal(kms, key_id, "before")]
    for n in range(2):
        kms.rotate_key_on_demand(KeyId=key_id)
        sealed.append(seal(kms, key_id, f"rotation {n}"))
    status = rotation_status(kms, key_id)
    listed = all_key_rotations(kms, key_id, include="ALL_KEY_MATERIAL")
    assert srv.stop() == 0
    srv.start()
    kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    assert rotation_status(kms, key_id) == status
    assert all_key_rotations(kms, key_id, include="ALL_KEY_MATERIAL") == listed
    assert current_material(kms, key_id) == sealed[-1]["material"]
    for item in sealed:
        assert_opens(kms, item, status["KeyId"])


# -- key states ---------------------------------------------------------------------------

ROTATION_CHANGES = [
    ("enable_key_rotation", {}),
    ("enable_key_rotation", {"RotationPeriodInDays": 90}),
    ("disable_key_rotation", {}),
    ("rotate_key_on_demand", {}),
]


@pytest.mark.parametrize("operation, extra", ROTATION_CHANGES)
def test_rotation_changes_on_a_disabled_key_are_refused(operation, extra, kms, key):
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=180)
    material = current_material(kms, key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])
    with raises_kms("DisabledException"):
        getattr(kms, operation)(KeyId=key["KeyId"], **extra)
    status = rotation_status(kms, key["KeyId"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 180)
    assert current_material(kms, key["KeyId"]) == material


def test_a_disabled_key_still_reports_its_rotation(kms, key):
    """GetKeyRotationStatus and ListKeyRotations only read; a Disabled key keeps
    its rotation status (AWS: "does not change when you disable a KMS key")."""
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=120)
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])
    status = rotation_status(kms, key["KeyId"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 120)
    assert [e["RotationType"] for e in kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]] == ["ON_DEMAND"]


@pytest.mark.parametrize("operation, extra", ROTATION_CHANGES)
def test_rotation_changes_on_a_key_pending_deletion_are_refused(operation, extra, kms, key):
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=180)
    material = current_material(kms, key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with raises_kms("KMSInvalidStateException"):
        getattr(kms, operation)(KeyId=key["KeyId"], **extra)
    assert current_material(kms, key["KeyId"]) == material
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    status = rotation_status(kms, key["KeyId"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 180)


def test_rotation_status_is_false_while_pending_deletion_and_returns_on_cancel(kms, key):
    """AWS (GetKeyRotationStatus): "While a KMS key is pending deletion, its key
    rotation status is false … If you cancel the deletion, the original key
    rotation status returns to true"."""
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=180)
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    status = rotation_status(kms, key["KeyId"])
    assert status["KeyId"] == key["Arn"]
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    status = rotation_status(kms, key["KeyId"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 180)
    assert "NextRotationDate" in status


def test_a_key_pending_deletion_is_not_rotated_automatically(clock_server, clock_kms):
    kms = clock_kms
    key_id = kms.create_key(Description=unique("pending-rotation"))["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    clock_server.advance_clock(85 * DAY_S)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    jump = clock_server.advance_clock(10 * DAY_S)
    assert jump["rotated"] == 0, f"a key pending deletion was rotated: {jump}"
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []


@pytest.mark.parametrize("operation", [
    "enable_key_rotation", "disable_key_rotation", "get_key_rotation_status",
    "rotate_key_on_demand", "list_key_rotations",
])
def test_rotation_operations_on_an_unknown_key_are_not_found(operation, kms, server, account_id):
    missing = str(uuid.uuid4())
    for identifier in (missing, f"arn:aws:kms:{server.region}:{account_id}:key/{missing}"):
        with raises_kms("NotFoundException"):
            getattr(kms, operation)(KeyId=identifier)


# -- ListKeyRotations pages -----------------------------------------------------------------


def _pages(kms, key_id: str, limit: int, include: str | None = None) -> list[dict]:
    pages, marker = [], None
    while True:
        kwargs = {"KeyId": key_id, "Limit": limit}
        if include:
            kwargs["IncludeKeyMaterial"] = include
        if marker:
            kwargs["Marker"] = marker
        page = kms.list_key_rotations(**kwargs)
        pages.append(page)
        assert len(page["Rotations"]) <= limit
        if not page["Truncated"]:
            assert not page.get("NextMarker"), "NextMarker on the last page"
            return pages
        assert page["Rotations"], "a truncated page must not be empty"
        assert page.get("NextMarker"), "Truncated without NextMarker"
        marker = page["NextMarker"]
        assert len(pages) < 1000, "pagination does not end"


@pytest.mark.parametrize("include", [None, "ROTATIONS_ONLY", "ALL_KEY_MATERIAL"])
def test_list_key_rotations_pages_without_duplicates_or_gaps(include, kms, key):
    key_id = key["KeyId"]
    original = current_material(kms, key_id)
    rotated = []
    for _ in range(5):
        kms.rotate_key_on_demand(KeyId=key_id)
        rotated.append(current_material(kms, key_id))
    expected = set(rotated) | ({original} if include == "ALL_KEY_MATERIAL" else set())

    whole = kms.list_key_rotations(KeyId=key_id, Limit=1000, **({"IncludeKeyMaterial": include} if include else {}))
    assert whole["Truncated"] is False
    assert {e["KeyMaterialId"] for e in whole["Rotations"]} == expected
    assert len(whole["Rotations"]) == len(expected)

    pages = _pages(kms, key_id, 2, include)
    assert len(pages) == -(-len(expected) // 2), [len(p["Rotations"]) for p in pages]
    paged = [e["KeyMaterialId"] for p in pages for e in p["Rotations"]]
    assert len(paged) == len(set(paged)), "an entry appears on two pages"
    assert set(paged) == expected, "entries missing from the paged listing"
    by_id = {e["KeyMaterialId"]: e for e in whole["Rotations"]}
    for entry in (e for p in pages for e in p["Rotations"]):
        assert entry == by_id[entry["KeyMaterialId"]], "a paged entry differs from the unpaged one"


def test_list_key_rotations_paginator_yields_every_entry_once(kms, key):
    for _ in range(3):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    pages = list(kms.get_paginator("list_key_rotations").paginate(
        KeyId=key["KeyId"], PaginationConfig={"PageSize": 1}))
    ids = [e["KeyMaterialId"] for p in pages for e in p["Rotations"]]
    assert len(pages) >= 3 and len(ids) == 3 == len(set(ids))


def test_all_key_material_adds_the_original(kms, key):
    original = current_material(kms, key["KeyId"])
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    newest = current_material(kms, key["KeyId"])
    listed = {e["KeyMaterialId"]: e for e in all_key_rotations(kms, key["KeyId"], include="ALL_KEY_MATERIAL")}
    assert set(listed) == {original, newest}
    first = listed[original]
    assert first["KeyId"] == key["KeyId"]
    assert first["KeyMaterialState"] == "NON_CURRENT"
    assert "RotationType" not in first, "the first key material was not made by a rotation"
    assert listed[newest]["KeyMaterialState"] == "CURRENT"
    assert listed[newest]["RotationType"] == "ON_DEMAND"


def test_the_original_material_entry_has_no_rotation_date(kms, key):
    """AWS (RotationsListEntry.RotationDate): "This field is not present for the
    first key material"."""
    original = current_material(kms, key["KeyId"])
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    listed = {e["KeyMaterialId"]: e for e in all_key_rotations(kms, key["KeyId"], include="ALL_KEY_MATERIAL")}
    assert "RotationDate" not in listed[original], listed[original]


def test_list_key_rotations_rejects_a_forged_marker(kms, key):
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    with raises_kms("InvalidMarkerException"):
        kms.list_key_rotations(KeyId=key["KeyId"], Limit=1, Marker="this-marker-was-never-issued")


# -- the AWS CLI -------------------------------------------------------------------------------


def aws(server, *args: str) -> dict:
    cmd = [sys.executable, "-m", "awscli", "kms", *args, "--output", "json"]
    proc = subprocess.run(cmd, env=server.cli_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_cli_rotation_commands(server):
    key = aws(server, "create-key", "--description", unique("cli-rotation"))["KeyMetadata"]
    assert aws(server, "enable-key-rotation", "--key-id", key["KeyId"], "--rotation-period-in-days", "120") == {}
    status = aws(server, "get-key-rotation-status", "--key-id", key["Arn"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"], status["KeyId"]) == (True, 120, key["Arn"])
    assert "NextRotationDate" in status
    assert aws(server, "rotate-key-on-demand", "--key-id", key["KeyId"]) == {"KeyId": key["Arn"]}
    rotations = aws(server, "list-key-rotations", "--key-id", key["KeyId"])["Rotations"]
    assert [(r["KeyId"], r["RotationType"], r["KeyMaterialState"]) for r in rotations] == [
        (key["KeyId"], "ON_DEMAND", "CURRENT")]
    everything = aws(server, "list-key-rotations", "--key-id", key["KeyId"],
                     "--include-key-material", "ALL_KEY_MATERIAL")["Rotations"]
    assert len(everything) == 2
    assert rotations[0]["KeyMaterialId"] in {r["KeyMaterialId"] for r in everything}
    assert aws(server, "disable-key-rotation", "--key-id", key["KeyId"]) == {}
    assert aws(server, "get-key-rotation-status", "--key-id", key["KeyId"])["KeyRotationEnabled"] is False


# -- the test-only clock itself -------------------------------------------------------------------


def test_clock_control_is_not_served_without_the_flag(server):
    for method, payload in (("POST", {"advance_seconds": 400 * DAY_S}), ("GET", None)):
        status, body = server.clock_request(method, payload)
        assert status != 200, f"{method} /_strongroom/clock answered 200 without --dev-clock-control: {body[:200]!r}"
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        assert not (isinstance(answer, dict) and "now" in answer), f"the clock answered: {body[:200]!r}"


def test_clock_control_moves_only_the_domain_clock(clock_server, clock_kms):
    start = clock_server.clock_now()
    assert abs(start - time.time()) < TOLERANCE_S, "the clock starts at real time"
    jump = clock_server.advance_clock(3 * DAY_S)
    assert set(jump) >= {"now", "rotated", "deleted"}
    assert (jump["rotated"], jump["deleted"]) == (0, 0)
    assert 3 * DAY_S <= jump["now"] - start < 3 * DAY_S + TOLERANCE_S
    assert clock_server.clock_now() >= jump["now"]
    # Signatures are still checked against real time: the signed API keeps working.
    key_id = clock_kms.create_key(Description=unique("after-jump"))["KeyMetadata"]["KeyId"]
    blob = clock_kms.encrypt(KeyId=key_id, Plaintext=b"after the jump")["CiphertextBlob"]
    assert clock_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after the jump"
