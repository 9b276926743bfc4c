"""Rotating keys with imported key material: ImportKeyMaterial with ImportType
NEW_KEY_MATERIAL, RotateKeyOnDemand on an EXTERNAL key, re-importing and
deleting one named material (KeyMaterialId), ListKeyRotations with
ALL_KEY_MATERIAL, and the expiry of each material (time travel).

AWS sources: the API reference carried in botocore's KMS model (ImportKeyMaterial's
ImportType and KeyMaterialId, DeleteImportedKeyMaterial's KeyMaterialId,
RotationsListEntry, RotateKeyOnDemand) and the developer guide's "Import new key
material" / "Rotate key material on demand" sections. Where AWS does not name the
exact error, the test says which source it follows.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from kms_helpers import DAY_S, KEY_MATERIAL_ID_RE, all_key_rotations, raises_kms
from model_cases import import_key_material, wrap_key_material
from test_import import (
    HOUR_S,
    NEVER,
    TOLERANCE_S,
    assert_opens,
    assert_pending_import,
    assert_usable,
    aws,
    describe,
    external_key,
    material,
    utc,
)

NEW = "NEW_KEY_MATERIAL"
EXISTING = "EXISTING_KEY_MATERIAL"


def imported_key(kms, label: str = "rotate-import", **extra) -> tuple[dict, bytes, str]:
    """An Enabled EXTERNAL key with one imported material: (metadata, bytes, KeyMaterialId)."""
    key = external_key(kms, label)
    secret = material()
    answer = import_key_material(kms, key["KeyId"], secret, **extra)
    return key, secret, answer["KeyMaterialId"]


def import_new(kms, key: dict, secret: bytes, **extra) -> str:
    """ImportKeyMaterial with ImportType NEW_KEY_MATERIAL; returns the new KeyMaterialId."""
    answer = import_key_material(kms, key["KeyId"], secret, ImportType=NEW, **extra)
    assert answer["KeyId"] == key["Arn"]
    assert re.fullmatch(KEY_MATERIAL_ID_RE, answer["KeyMaterialId"]), answer["KeyMaterialId"]
    return answer["KeyMaterialId"]


def rotate(kms, key: dict) -> None:
    answer = kms.rotate_key_on_demand(KeyId=key["KeyId"])
    assert answer["KeyId"] == key["Arn"], answer


def listed(kms, key_id: str) -> dict[str, dict]:
    """ListKeyRotations with ALL_KEY_MATERIAL, by KeyMaterialId."""
    entries = all_key_rotations(kms, key_id, include="ALL_KEY_MATERIAL")
    by_id = {e["KeyMaterialId"]: e for e in entries}
    assert len(by_id) == len(entries), f"a material is listed twice: {entries}"
    return by_id


def rotations_only(kms, key_id: str) -> set[str]:
    return {e["KeyMaterialId"] for e in all_key_rotations(kms, key_id)}


def assert_sealed_by(sealed: dict, material_id: str) -> None:
    assert sealed["material"] == material_id, (
        f"Decrypt names material {sealed['material']}, expected {material_id}")
    assert sealed["data_key"].get("KeyMaterialId") == material_id, (
        f"GenerateDataKey names material {sealed['data_key'].get('KeyMaterialId')}, expected {material_id}")


def assert_invalid_ciphertext(kms, sealed: dict) -> None:
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=sealed["blob"], EncryptionContext=sealed["context"])
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=sealed["data_key"]["CiphertextBlob"])


def assert_enabled(kms, key_id: str, current: str) -> None:
    meta = describe(kms, key_id)
    assert (meta["KeyState"], meta["Enabled"]) == ("Enabled", True), meta
    assert meta["CurrentKeyMaterialId"] == current, (
        f"CurrentKeyMaterialId is {meta['CurrentKeyMaterialId']}, expected {current}")


# -- the whole flow ----------------------------------------------------------------------------------


def test_rotating_an_imported_key_end_to_end(kms):
    """import v1 → encrypt A → NEW_KEY_MATERIAL v2 (pending) → rotate → encrypt B →
    delete v1 by id → A fails, B works → re-import v1 by id → A works."""
    key, v1_secret, v1 = imported_key(kms, "flow")
    assert_enabled(kms, key["KeyId"], v1)
    sealed_a = assert_usable(kms, key)
    assert_sealed_by(sealed_a, v1)

    v2_secret = material()
    v2 = import_new(kms, key, v2_secret)
    assert v2 != v1
    # Pending: the key keeps encrypting under v1.
    assert_enabled(kms, key["KeyId"], v1)
    assert_sealed_by(assert_usable(kms, key), v1)
    entries = listed(kms, key["KeyId"])
    assert set(entries) == {v1, v2}
    assert entries[v1]["KeyMaterialState"] == "CURRENT"
    assert entries[v2]["KeyMaterialState"] == "PENDING_ROTATION"

    rotate(kms, key)
    rotated_at = time.time()
    assert_enabled(kms, key["KeyId"], v2)
    sealed_b = assert_usable(kms, key)
    assert_sealed_by(sealed_b, v2)
    assert_opens(kms, sealed_a)
    assert kms.decrypt(CiphertextBlob=sealed_a["blob"], EncryptionContext=sealed_a["context"])[
        "KeyMaterialId"] == v1
    entries = listed(kms, key["KeyId"])
    assert (entries[v1]["KeyMaterialState"], entries[v2]["KeyMaterialState"]) == ("NON_CURRENT", "CURRENT")
    assert entries[v2]["RotationType"] == "ON_DEMAND"
    assert abs(entries[v2]["RotationDate"].timestamp() - rotated_at) < TOLERANCE_S

    deleted = kms.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=v1)
    assert (deleted["KeyId"], deleted["KeyMaterialId"]) == (key["Arn"], v1)
    assert_enabled(kms, key["KeyId"], v2)
    assert_invalid_ciphertext(kms, sealed_a)
    assert_opens(kms, sealed_b)
    assert_sealed_by(assert_usable(kms, key), v2)
    assert listed(kms, key["KeyId"])[v1]["ImportState"] == "PENDING_IMPORT"

    again = import_key_material(kms, key["KeyId"], v1_secret, ImportType=EXISTING, KeyMaterialId=v1,
                                algorithm="RSA_AES_KEY_WRAP_SHA_256")
    assert (again["KeyId"], again["KeyMaterialId"]) == (key["Arn"], v1)
    assert_enabled(kms, key["KeyId"], v2)
    assert_opens(kms, sealed_a)
    assert_opens(kms, sealed_b)
    entries = listed(kms, key["KeyId"])
    assert entries[v1]["ImportState"] == "IMPORTED"
    assert (entries[v1]["KeyMaterialState"], entries[v2]["KeyMaterialState"]) == ("NON_CURRENT", "CURRENT")


# -- ImportType NEW_KEY_MATERIAL ------------------------------------------------------------------------


def test_new_key_material_waits_for_the_rotation(kms):
    key, _, v1 = imported_key(kms)
    sealed = assert_usable(kms, key)
    v2 = import_new(kms, key, material())
    assert v2 != v1
    assert_enabled(kms, key["KeyId"], v1)
    assert_sealed_by(assert_usable(kms, key), v1)
    assert_opens(kms, sealed)
    entries = listed(kms, key["KeyId"])
    assert set(entries) == {v1, v2}
    assert entries[v2]["KeyMaterialState"] == "PENDING_ROTATION"
    assert entries[v2]["ImportState"] == "IMPORTED"
    for material_id in (v1, v2):
        assert "RotationDate" not in entries[material_id], entries[material_id]
        assert "RotationType" not in entries[material_id], entries[material_id]
    assert rotations_only(kms, key["KeyId"]) == set(), "pending material is not a rotation"


def test_new_key_material_into_a_disabled_key(kms):
    key, _, v1 = imported_key(kms)
    kms.disable_key(KeyId=key["KeyId"])
    v2 = import_new(kms, key, material())
    meta = describe(kms, key["KeyId"])
    assert (meta["KeyState"], meta["CurrentKeyMaterialId"]) == ("Disabled", v1), (
        "importing pending material must not enable the key")
    assert listed(kms, key["KeyId"])[v2]["KeyMaterialState"] == "PENDING_ROTATION"
    kms.enable_key(KeyId=key["KeyId"])
    rotate(kms, key)
    assert_enabled(kms, key["KeyId"], v2)
    assert_sealed_by(assert_usable(kms, key), v2)


def test_the_first_import_may_say_new_key_material(kms):
    """AWS (ImportKeyMaterial, ImportType): "If no key material has ever been
    imported into the KMS key, and this parameter is omitted, the parameter
    defaults to NEW_KEY_MATERIAL" — so naming it explicitly on the first import
    is the same request as omitting it, and imports the key's first material."""
    key = external_key(kms)
    answer = import_key_material(kms, key["KeyId"], material(), ImportType=NEW)
    assert answer["KeyId"] == key["Arn"]
    assert_enabled(kms, key["KeyId"], answer["KeyMaterialId"])
    assert_sealed_by(assert_usable(kms, key), answer["KeyMaterialId"])
    assert listed(kms, key["KeyId"])[answer["KeyMaterialId"]]["KeyMaterialState"] == "CURRENT"


def test_new_key_material_into_a_key_whose_material_was_deleted_is_invalid_state(kms):
    key, secret, v1 = imported_key(kms)
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert_pending_import(kms, key["KeyId"])
    with raises_kms("KMSInvalidStateException"):
        import_key_material(kms, key["KeyId"], material(), ImportType=NEW)
    assert_pending_import(kms, key["KeyId"])
    assert set(listed(kms, key["KeyId"])) == {v1}
    import_key_material(kms, key["KeyId"], secret)
    assert_enabled(kms, key["KeyId"], v1)


def test_a_second_pending_material_is_invalid_state(kms):
    key, _, v1 = imported_key(kms)
    v2 = import_new(kms, key, material())
    with raises_kms("KMSInvalidStateException"):
        import_key_material(kms, key["KeyId"], material(), ImportType=NEW)
    assert set(listed(kms, key["KeyId"])) == {v1, v2}
    rotate(kms, key)
    assert_enabled(kms, key["KeyId"], v2)
    # Once the rotation is done, the next new material is welcome.
    v3 = import_new(kms, key, material())
    assert listed(kms, key["KeyId"])[v3]["KeyMaterialState"] == "PENDING_ROTATION"


def test_new_key_material_identical_to_earlier_material_is_incorrect(kms):
    key, v1_secret, v1 = imported_key(kms)
    with raises_kms("IncorrectKeyMaterialException"):
        import_key_material(kms, key["KeyId"], v1_secret, ImportType=NEW)
    assert set(listed(kms, key["KeyId"])) == {v1}
    v2_secret = material()
    v2 = import_new(kms, key, v2_secret)
    rotate(kms, key)
    for secret in (v1_secret, v2_secret):  # a non-current and the current material
        with raises_kms("IncorrectKeyMaterialException"):
            import_key_material(kms, key["KeyId"], secret, ImportType=NEW)
    assert set(listed(kms, key["KeyId"])) == {v1, v2}
    # Even material that is deleted at the moment is still the key's.
    kms.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=v1)
    with raises_kms("IncorrectKeyMaterialException"):
        import_key_material(kms, key["KeyId"], v1_secret, ImportType=NEW)
    assert_enabled(kms, key["KeyId"], v2)


def test_new_key_material_with_a_key_material_id_is_refused(kms):
    """AWS (ImportKeyMaterial, KeyMaterialId): "You cannot specify a key material
    ID with ImportType set to NEW_KEY_MATERIAL". The error code is not named;
    ValidationException is the code AWS uses for a forbidden combination of members."""
    key, _, v1 = imported_key(kms)
    with raises_kms("ValidationException"):
        import_key_material(kms, key["KeyId"], material(), ImportType=NEW, KeyMaterialId=v1)
    assert set(listed(kms, key["KeyId"])) == {v1}


# -- RotateKeyOnDemand on EXTERNAL keys ----------------------------------------------------------------


def test_rotate_on_demand_without_pending_material_is_invalid_state(kms):
    key, _, v1 = imported_key(kms)
    with raises_kms("KMSInvalidStateException"):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    assert_enabled(kms, key["KeyId"], v1)
    assert listed(kms, key["KeyId"]).keys() == {v1}
    v2 = import_new(kms, key, material())
    rotate(kms, key)
    with raises_kms("KMSInvalidStateException"):
        kms.rotate_key_on_demand(KeyId=key["Arn"])  # the pending material was used up
    assert_enabled(kms, key["KeyId"], v2)
    assert rotations_only(kms, key["KeyId"]) == {v2}


def test_rotate_on_demand_of_a_key_pending_import_is_invalid_state(kms):
    key = external_key(kms)
    with raises_kms("KMSInvalidStateException"):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    assert_pending_import(kms, key["KeyId"])


def test_three_imported_materials_each_keep_decrypting(kms):
    key, _, v1 = imported_key(kms)
    sealed = {v1: assert_usable(kms, key)}
    for _ in range(2):
        new_id = import_new(kms, key, material())
        rotate(kms, key)
        assert_enabled(kms, key["KeyId"], new_id)
        sealed[new_id] = assert_usable(kms, key)
    assert len(sealed) == 3
    for material_id, item in sealed.items():
        assert_sealed_by(item, material_id)
        assert_opens(kms, item)
        out = kms.decrypt(CiphertextBlob=item["blob"], EncryptionContext=item["context"])
        assert out["KeyMaterialId"] == material_id


def test_reencrypt_moves_a_ciphertext_to_the_new_imported_material(kms):
    key, _, v1 = imported_key(kms)
    old = assert_usable(kms, key)
    v2 = import_new(kms, key, material())
    rotate(kms, key)
    moved = kms.re_encrypt(CiphertextBlob=old["blob"], SourceEncryptionContext=old["context"],
                           DestinationKeyId=key["KeyId"], DestinationEncryptionContext=old["context"])
    out = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext=old["context"])
    assert (out["Plaintext"], out["KeyMaterialId"]) == (old["plaintext"], v2)
    assert v1 != v2


@pytest.mark.parametrize("operation, extra", [
    ("enable_key_rotation", {}),
    ("enable_key_rotation", {"RotationPeriodInDays": 90}),
    ("disable_key_rotation", {}),
])
def test_automatic_rotation_of_a_key_with_pending_material_is_unsupported(operation, extra, kms):
    key, _, v1 = imported_key(kms)
    v2 = import_new(kms, key, material())
    with raises_kms("UnsupportedOperationException"):
        getattr(kms, operation)(KeyId=key["KeyId"], **extra)
    assert_enabled(kms, key["KeyId"], v1)
    assert listed(kms, key["KeyId"])[v2]["KeyMaterialState"] == "PENDING_ROTATION"


# -- ImportType EXISTING_KEY_MATERIAL and KeyMaterialId -------------------------------------------------


def test_re_import_of_a_named_non_current_material(kms):
    key, v1_secret, v1 = imported_key(kms)
    v2_secret = material()
    v2 = import_new(kms, key, v2_secret)
    rotate(kms, key)
    again = import_key_material(kms, key["KeyId"], v1_secret, ImportType=EXISTING, KeyMaterialId=v1)
    assert (again["KeyId"], again["KeyMaterialId"]) == (key["Arn"], v1)
    assert_enabled(kms, key["KeyId"], v2)  # re-importing an old material does not make it current
    # Without KeyMaterialId the current material is meant; ImportType defaults to EXISTING.
    again = import_key_material(kms, key["KeyId"], v2_secret)
    assert again["KeyMaterialId"] == v2
    again = import_key_material(kms, key["KeyId"], v2_secret, ImportType=EXISTING)
    assert again["KeyMaterialId"] == v2
    assert_enabled(kms, key["KeyId"], v2)


def test_re_import_of_a_pending_material_by_id(kms):
    key, _, v1 = imported_key(kms)
    v2_secret = material()
    v2 = import_new(kms, key, v2_secret)
    again = import_key_material(kms, key["KeyId"], v2_secret, ImportType=EXISTING, KeyMaterialId=v2)
    assert again["KeyMaterialId"] == v2
    assert listed(kms, key["KeyId"])[v2]["KeyMaterialState"] == "PENDING_ROTATION"
    assert_enabled(kms, key["KeyId"], v1)


def test_re_import_without_an_id_means_the_current_material(kms):
    key, v1_secret, v1 = imported_key(kms)
    v2 = import_new(kms, key, material())
    rotate(kms, key)
    with raises_kms("IncorrectKeyMaterialException"):
        import_key_material(kms, key["KeyId"], v1_secret)  # v1 is no longer the current material
    with raises_kms("IncorrectKeyMaterialException"):
        import_key_material(kms, key["KeyId"], v1_secret, ImportType=EXISTING)
    assert_enabled(kms, key["KeyId"], v2)
    assert set(listed(kms, key["KeyId"])) == {v1, v2}


def test_re_import_with_an_unknown_key_material_id_is_not_found(kms):
    key, secret, v1 = imported_key(kms)
    other_key, _, other_material = imported_key(kms, "other")
    for unknown in (os.urandom(32).hex(), other_material):
        with raises_kms("NotFoundException"):
            import_key_material(kms, key["KeyId"], secret, ImportType=EXISTING, KeyMaterialId=unknown)
    assert_enabled(kms, key["KeyId"], v1)
    assert_enabled(kms, other_key["KeyId"], other_material)


def test_re_import_of_other_material_under_a_key_material_id_is_incorrect(kms):
    key, v1_secret, v1 = imported_key(kms)
    v2_secret = material()
    v2 = import_new(kms, key, v2_secret)
    rotate(kms, key)
    for material_id, wrong in ((v1, v2_secret), (v1, material()), (v2, v1_secret), (v2, material())):
        with raises_kms("IncorrectKeyMaterialException"):
            import_key_material(kms, key["KeyId"], wrong, ImportType=EXISTING, KeyMaterialId=material_id)
    assert_enabled(kms, key["KeyId"], v2)
    assert set(listed(kms, key["KeyId"])) == {v1, v2}


# -- DeleteImportedKeyMaterial with KeyMaterialId --------------------------------------------------------


def test_delete_without_an_id_deletes_the_current_material(kms):
    key, _, v1 = imported_key(kms)
    sealed_a = assert_usable(kms, key)
    v2_secret = material()
    v2 = import_new(kms, key, v2_secret)
    rotate(kms, key)
    sealed_b = assert_usable(kms, key)
    deleted = kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert (deleted["KeyId"], deleted["KeyMaterialId"]) == (key["Arn"], v2)
    assert_pending_import(kms, key["KeyId"])
    with raises_kms("KMSInvalidStateException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"no current material")
    entries = listed(kms, key["KeyId"])
    assert (entries[v1]["ImportState"], entries[v2]["ImportState"]) == ("IMPORTED", "PENDING_IMPORT")
    again = import_key_material(kms, key["KeyId"], v2_secret)
    assert again["KeyMaterialId"] == v2
    assert_enabled(kms, key["KeyId"], v2)
    assert_opens(kms, sealed_a)
    assert_opens(kms, sealed_b)


def test_delete_of_the_current_material_by_id_leaves_the_key_pending_import(kms):
    key, secret, v1 = imported_key(kms)
    deleted = kms.delete_imported_key_material(KeyId=key["Arn"], KeyMaterialId=v1)
    assert (deleted["KeyId"], deleted["KeyMaterialId"]) == (key["Arn"], v1)
    assert_pending_import(kms, key["KeyId"])
    import_key_material(kms, key["KeyId"], secret, KeyMaterialId=v1)
    assert_enabled(kms, key["KeyId"], v1)


def test_delete_with_an_unknown_key_material_id_is_not_found(kms):
    key, _, v1 = imported_key(kms)
    with raises_kms("NotFoundException"):
        kms.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=os.urandom(32).hex())
    assert_enabled(kms, key["KeyId"], v1)
    assert listed(kms, key["KeyId"])[v1]["ImportState"] == "IMPORTED"


def test_deleted_non_current_material_leaves_only_its_ciphertexts_unreadable(kms):
    key, v1_secret, v1 = imported_key(kms)
    sealed = {v1: assert_usable(kms, key)}
    secrets = {v1: v1_secret}
    for _ in range(2):
        secret = material()
        new_id = import_new(kms, key, secret)
        rotate(kms, key)
        sealed[new_id], secrets[new_id] = assert_usable(kms, key), secret
    v2, v3 = list(sealed)[1:]
    deleted = kms.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=v2)
    assert deleted["KeyMaterialId"] == v2
    assert_enabled(kms, key["KeyId"], v3)
    assert_invalid_ciphertext(kms, sealed[v2])
    assert_opens(kms, sealed[v1])
    assert_opens(kms, sealed[v3])
    with raises_kms("IncorrectKeyMaterialException"):
        import_key_material(kms, key["KeyId"], secrets[v1], KeyMaterialId=v2)
    import_key_material(kms, key["KeyId"], secrets[v2], KeyMaterialId=v2)
    for item in sealed.values():
        assert_opens(kms, item)
    assert_enabled(kms, key["KeyId"], v3)


# -- ListKeyRotations on EXTERNAL keys -----------------------------------------------------------------


def test_list_key_rotations_of_an_imported_key(kms):
    key, _, v1 = imported_key(kms)
    rotated_at = {}
    for _ in range(2):
        new_id = import_new(kms, key, material())
        rotate(kms, key)
        rotated_at[new_id] = time.time()
    v2, v3 = rotated_at
    valid_to = int(time.time()) + 30 * DAY_S
    v4 = import_new(kms, key, material(), ValidTo=utc(valid_to), ExpirationModel="KEY_MATERIAL_EXPIRES")

    entries = listed(kms, key["KeyId"])
    assert set(entries) == {v1, v2, v3, v4}, "ALL_KEY_MATERIAL lists every material ever imported"
    states = {m: e["KeyMaterialState"] for m, e in entries.items()}
    assert states == {v1: "NON_CURRENT", v2: "NON_CURRENT", v3: "CURRENT", v4: "PENDING_ROTATION"}
    for material_id, entry in entries.items():
        assert entry["KeyId"] == key["KeyId"], entry
        assert entry["ImportState"] == "IMPORTED", entry
    for material_id in (v1, v2, v3):
        assert entries[material_id]["ExpirationModel"] == NEVER, entries[material_id]
        assert "ValidTo" not in entries[material_id], entries[material_id]
    assert entries[v4]["ExpirationModel"] == "KEY_MATERIAL_EXPIRES", entries[v4]
    assert abs(entries[v4]["ValidTo"].timestamp() - valid_to) <= 1, entries[v4]
    for material_id in (v1, v4):
        assert "RotationDate" not in entries[material_id], entries[material_id]
        assert "RotationType" not in entries[material_id], entries[material_id]
    for material_id in (v2, v3):
        assert entries[material_id]["RotationType"] == "ON_DEMAND", entries[material_id]
        assert abs(entries[material_id]["RotationDate"].timestamp() - rotated_at[material_id]) < TOLERANCE_S

    assert rotations_only(kms, key["KeyId"]) == {v2, v3}, "ROTATIONS_ONLY lists only the rotations"
    assert {e["KeyMaterialId"] for e in all_key_rotations(kms, key["KeyId"], include="ROTATIONS_ONLY")} == {v2, v3}
    # Pages of one entry carry the same set.
    paged = all_key_rotations(kms, key["KeyId"], include="ALL_KEY_MATERIAL", limit=1)
    assert sorted(e["KeyMaterialId"] for e in paged) == sorted(entries)


def test_list_key_rotations_of_a_key_with_one_import(kms):
    key, _, v1 = imported_key(kms)
    entries = listed(kms, key["KeyId"])
    assert set(entries) == {v1}
    entry = entries[v1]
    assert (entry["KeyMaterialState"], entry["ImportState"], entry["ExpirationModel"]) == (
        "CURRENT", "IMPORTED", NEVER)
    assert "RotationType" not in entry and "RotationDate" not in entry, entry
    assert kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"] == []


# -- expiry per material (time travel) -----------------------------------------------------------------


def test_expiry_of_a_non_current_material_leaves_the_key_enabled(clock_server, clock_kms):
    kms = clock_kms
    valid_to = int(clock_server.clock_now()) + HOUR_S
    key, v1_secret, v1 = imported_key(kms, "expire-old", ValidTo=utc(valid_to),
                                      ExpirationModel="KEY_MATERIAL_EXPIRES")
    sealed_a = assert_usable(kms, key)
    v2 = import_new(kms, key, material())
    rotate(kms, key)
    sealed_b = assert_usable(kms, key)
    assert_sealed_by(sealed_b, v2)
    assert abs(listed(kms, key["KeyId"])[v1]["ValidTo"].timestamp() - valid_to) <= 1

    jump = clock_server.advance_clock(30 * 60)
    assert jump["expired"] == 0, jump
    assert_opens(kms, sealed_a)

    jump = clock_server.advance_clock(HOUR_S)
    assert jump["expired"] == 1, f"the non-current material was not expired at its ValidTo: {jump}"
    assert_enabled(kms, key["KeyId"], v2)
    entries = listed(kms, key["KeyId"])
    assert (entries[v1]["ImportState"], entries[v1]["KeyMaterialState"]) == ("PENDING_IMPORT", "NON_CURRENT")
    assert entries[v2]["ImportState"] == "IMPORTED"
    assert_invalid_ciphertext(kms, sealed_a)
    assert_opens(kms, sealed_b)
    assert_sealed_by(assert_usable(kms, key), v2)

    again = import_key_material(kms, key["KeyId"], v1_secret, KeyMaterialId=v1)
    assert again["KeyMaterialId"] == v1
    assert_opens(kms, sealed_a)
    assert listed(kms, key["KeyId"])[v1]["ImportState"] == "IMPORTED"
    jump = clock_server.advance_clock(30 * DAY_S)
    assert jump["expired"] == 0, jump
    assert_enabled(kms, key["KeyId"], v2)


def test_expiry_of_the_current_material_after_a_rotation(clock_server, clock_kms):
    kms = clock_kms
    key, _, v1 = imported_key(kms, "expire-current")
    sealed_a = assert_usable(kms, key)
    v2_secret = material()
    valid_to = int(clock_server.clock_now()) + HOUR_S
    v2 = import_new(kms, key, v2_secret, ValidTo=utc(valid_to), ExpirationModel="KEY_MATERIAL_EXPIRES")
    rotate(kms, key)
    sealed_b = assert_usable(kms, key)

    jump = clock_server.advance_clock(2 * HOUR_S)
    assert jump["expired"] == 1, jump
    assert_pending_import(kms, key["KeyId"])
    entries = listed(kms, key["KeyId"])
    assert (entries[v1]["ImportState"], entries[v2]["ImportState"]) == ("IMPORTED", "PENDING_IMPORT")
    with raises_kms("KMSInvalidStateException"):
        kms.decrypt(CiphertextBlob=sealed_a["blob"], EncryptionContext=sealed_a["context"])

    import_key_material(kms, key["KeyId"], v2_secret)
    assert_enabled(kms, key["KeyId"], v2)
    assert_opens(kms, sealed_a)
    assert_opens(kms, sealed_b)



# -- the AWS CLI ----------------------------------------------------------------------------------------


def test_cli_rotation_of_an_imported_key(server, kms, tmp_path):
    import base64

    key, _, v1 = imported_key(kms, "cli-rotate")
    sealed_a = assert_usable(kms, key)
    params = aws(server, "get-parameters-for-import", "--key-id", key["KeyId"],
                 "--wrapping-algorithm", "RSAES_OAEP_SHA_256", "--wrapping-key-spec", "RSA_2048")
    token_path, material_path = tmp_path / "ImportToken.bin", tmp_path / "EncryptedKeyMaterial.bin"
    token_path.write_bytes(base64.b64decode(params["ImportToken"]))
    material_path.write_bytes(
        wrap_key_material(base64.b64decode(params["PublicKey"]), "RSAES_OAEP_SHA_256", material()))
    answer = aws(server, "import-key-material", "--key-id", key["KeyId"],
                 "--encrypted-key-material", f"fileb://{material_path}",
                 "--import-token", f"fileb://{token_path}",
                 "--expiration-model", NEVER, "--import-type", NEW)
    v2 = answer["KeyMaterialId"]
    assert v2 != v1 and answer["KeyId"] == key["Arn"]
    listing = aws(server, "list-key-rotations", "--key-id", key["KeyId"], "--include-key-material", "ALL_KEY_MATERIAL")
    assert {e["KeyMaterialId"]: e["KeyMaterialState"] for e in listing["Rotations"]} == {
        v1: "CURRENT", v2: "PENDING_ROTATION"}
    assert aws(server, "rotate-key-on-demand", "--key-id", key["KeyId"])["KeyId"] == key["Arn"]
    assert_enabled(kms, key["KeyId"], v2)
    deleted = aws(server, "delete-imported-key-material", "--key-id", key["KeyId"], "--key-material-id", v1)
    assert (deleted["KeyId"], deleted["KeyMaterialId"]) == (key["Arn"], v1)
    assert_invalid_ciphertext(kms, sealed_a)
    assert_enabled(kms, key["KeyId"], v2)
