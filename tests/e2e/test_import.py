"""Imported key material (BYOK): CreateKey with Origin EXTERNAL,
GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial, and the
expiry of imported material driven by the test-only clock (`--dev-clock-control`).

The material is wrapped locally the way AWS's developer guide tells users to
with OpenSSL ("Encrypt the key material"): RSA-OAEP with the named hash, or
RSA-OAEP of an ephemeral AES key followed by the AES key wrap with padding
(RFC 5649) for the RSA_AES_KEY_WRAP_* algorithms (model_cases.wrap_key_material).

AWS sources: the API reference carried in botocore's KMS model (operation,
member and error documentation), the "Importing key material" guide and the
"Key states of AWS KMS keys" table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_helpers import DAY_S, KEY_MATERIAL_ID_RE, raises_kms, unique
from model_cases import WRAPPING_ALGORITHMS, import_key_material, wrap_key_material

# Slack between the test's clock and the server's for "≈ now" checks.
TOLERANCE_S = 120
HOUR_S = 3600
NEVER = "KEY_MATERIAL_DOES_NOT_EXPIRE"


def describe(kms, key_id: str) -> dict:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]


def external_key(kms, label: str = "import") -> dict:
    return kms.create_key(Description=unique(label), Origin="EXTERNAL")["KeyMetadata"]


def material() -> bytes:
    return os.urandom(32)


def params_for(kms, key_id: str, algorithm: str = "RSAES_OAEP_SHA_256", spec: str = "RSA_2048") -> dict:
    return kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)


def import_with(kms, key_id: str, params: dict, wrapped: bytes, **extra) -> dict:
    if "ValidTo" not in extra:
        extra.setdefault("ExpirationModel", NEVER)
    return kms.import_key_material(
        KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, **extra)


def flip(blob: bytes, index: int) -> bytes:
    data = bytearray(blob)
    data[index] ^= 0x01
    return bytes(data)


def assert_usable(kms, key: dict) -> dict:
    """Encrypt/Decrypt and GenerateDataKey work; returns a sealed sample."""
    plaintext = b"imported " + os.urandom(12)
    context = {"purpose": "byok"}
    enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext, EncryptionContext=context)
    assert enc["KeyId"] == key["Arn"]
    out = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=context)
    assert out["Plaintext"] == plaintext
    assert out["KeyId"] == key["Arn"]
    data_key = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32
    opened = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])
    assert opened["Plaintext"] == data_key["Plaintext"], "the data key does not decrypt to its plaintext"
    return {"blob": enc["CiphertextBlob"], "plaintext": plaintext, "context": context,
            "material": out.get("KeyMaterialId"), "data_key": data_key}


def assert_unusable(kms, key_id: str, sealed: dict | None = None) -> None:
    with raises_kms("KMSInvalidStateException"):
        kms.encrypt(KeyId=key_id, Plaintext=b"no material")
    with raises_kms("KMSInvalidStateException"):
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    if sealed is not None:
        with raises_kms("KMSInvalidStateException"):
            kms.decrypt(CiphertextBlob=sealed["blob"], EncryptionContext=sealed["context"])


def assert_opens(kms, sealed: dict) -> None:
    out = kms.decrypt(CiphertextBlob=sealed["blob"], EncryptionContext=sealed["context"])
    assert out["Plaintext"] == sealed["plaintext"]
    data_key = sealed["data_key"]
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]


def assert_pending_import(kms, key_id: str) -> None:
    meta = describe(kms, key_id)
    assert (meta["KeyState"], meta["Enabled"], meta["Origin"]) == ("PendingImport", False, "EXTERNAL"), meta


# -- EXTERNAL keys before any import ---------------------------------------------------------


def test_an_external_key_waits_for_its_material(kms):
    key = external_key(kms)
    assert (key["Origin"], key["KeyState"], key["Enabled"]) == ("EXTERNAL", "PendingImport", False)
    assert_pending_import(kms, key["KeyId"])
    assert_unusable(kms, key["KeyId"])
    with raises_kms("KMSInvalidStateException"):
        kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")


def test_get_parameters_for_import_answers_a_public_key_and_a_token(kms):
    key = external_key(kms)
    asked_at = time.time()
    params = params_for(kms, key["KeyId"])
    assert params["KeyId"] == key["Arn"]
    assert isinstance(params["ImportToken"], bytes) and len(params["ImportToken"]) > 0
    public = serialization.load_der_public_key(params["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    valid_to = params["ParametersValidTo"].timestamp()
    assert abs(valid_to - (asked_at + DAY_S)) < TOLERANCE_S, (
        f"ParametersValidTo is {valid_to - asked_at:.0f} s away, expected 24 h")
    again = params_for(kms, key["Arn"])
    assert again["PublicKey"] != params["PublicKey"], "two requests share one wrapping key"
    assert again["ImportToken"] != params["ImportToken"]


@pytest.mark.parametrize("algorithm, spec", [
    ("RSAES_PKCS1_V1_5", "RSA_2048"),
    ("SM2PKE", "RSA_2048"),
    ("SM2PKE", "SM2"),
    ("RSAES_OAEP_SHA_256", "SM2"),
])
def test_unsupported_wrapping_parameters_are_refused(algorithm, spec, kms):
    key = external_key(kms)
    with raises_kms("UnsupportedOperationException"):
        params_for(kms, key["KeyId"], algorithm, spec)
    assert_pending_import(kms, key["KeyId"])


def test_get_parameters_for_import_needs_an_external_key(kms, key):
    with raises_kms("UnsupportedOperationException"):
        params_for(kms, key["KeyId"])


def test_get_parameters_for_import_on_a_key_pending_deletion_is_refused(kms):
    key = external_key(kms)
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with raises_kms("KMSInvalidStateException"):
        params_for(kms, key["KeyId"])


@pytest.mark.parametrize("operation", ["get_parameters_for_import", "delete_imported_key_material"])
def test_import_operations_on_an_unknown_key_are_not_found(operation, kms, server, account_id):
    missing = str(uuid.uuid4())
    extra = ({"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}
             if operation == "get_parameters_for_import" else {})
    for identifier in (missing, f"arn:aws:kms:{server.region}:{account_id}:key/{missing}"):
        with raises_kms("NotFoundException"):
            getattr(kms, operation)(KeyId=identifier, **extra)


# -- the happy path ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm, spec", [
    *[(a, "RSA_2048") for a in WRAPPING_ALGORITHMS],
    ("RSA_AES_KEY_WRAP_SHA_256", "RSA_3072"),
    ("RSAES_OAEP_SHA_1", "RSA_4096"),
])
def test_import_makes_the_key_usable(algorithm, spec, kms):
    key = external_key(kms, f"happy-{algorithm}")
    params = params_for(kms, key["KeyId"], algorithm, spec)
    public = serialization.load_der_public_key(params["PublicKey"])
    assert public.key_size == int(spec.split("_")[1])
    answer = import_with(kms, key["KeyId"], params,
                         wrap_key_material(params["PublicKey"], algorithm, material()))
    assert answer["KeyId"] == key["Arn"]
    assert re.fullmatch(KEY_MATERIAL_ID_RE, answer["KeyMaterialId"]), answer["KeyMaterialId"]
    meta = describe(kms, key["KeyId"])
    assert (meta["KeyState"], meta["Enabled"], meta["Origin"]) == ("Enabled", True, "EXTERNAL")
    assert meta["ExpirationModel"] == NEVER
    assert "ValidTo" not in meta, "material that never expires has no ValidTo"
    sealed = assert_usable(kms, key)
    assert sealed["material"] == answer["KeyMaterialId"], "Decrypt names other material than the import"


def test_re_importing_the_same_material_is_accepted(kms):
    key = external_key(kms)
    secret = material()
    first = import_key_material(kms, key["KeyId"], secret)
    sealed = assert_usable(kms, key)
    # Again while Enabled, with another algorithm and new parameters.
    again = import_key_material(kms, key["Arn"], secret, algorithm="RSA_AES_KEY_WRAP_SHA_1")
    assert again["KeyId"] == key["Arn"]
    assert again["KeyMaterialId"] == first["KeyMaterialId"], "the same material got another KeyMaterialId"
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"
    assert_opens(kms, sealed)


def test_one_material_in_two_keys(kms):
    """The same bytes may be imported into two keys; each stays its own key."""
    secret = material()
    a, b = external_key(kms, "twin-a"), external_key(kms, "twin-b")
    import_key_material(kms, a["KeyId"], secret)
    import_key_material(kms, b["KeyId"], secret, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    sealed_a = assert_usable(kms, a)
    with raises_kms("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=sealed_a["blob"], EncryptionContext=sealed_a["context"], KeyId=b["KeyId"])


# -- DeleteImportedKeyMaterial and re-import ------------------------------------------------------


def test_delete_then_re_import_restores_old_ciphertexts(kms):
    key = external_key(kms)
    secret = material()
    first = import_key_material(kms, key["KeyId"], secret)
    sealed = assert_usable(kms, key)

    answer = kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert answer["KeyId"] == key["Arn"]
    assert_pending_import(kms, key["KeyId"])
    assert_unusable(kms, key["KeyId"], sealed)
    with raises_kms("KMSInvalidStateException"):
        kms.decrypt(CiphertextBlob=sealed["data_key"]["CiphertextBlob"])

    again = import_key_material(kms, key["KeyId"], secret, algorithm="RSA_AES_KEY_WRAP_SHA_256", spec="RSA_3072")
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    meta = describe(kms, key["KeyId"])
    assert (meta["KeyState"], meta["Enabled"]) == ("Enabled", True)
    assert_opens(kms, sealed)
    assert_usable(kms, key)


def test_different_material_is_refused_while_the_key_has_material(kms):
    key = external_key(kms)
    import_key_material(kms, key["KeyId"], material())
    sealed = assert_usable(kms, key)
    with raises_kms("IncorrectKeyMaterialException"):
        import_key_material(kms, key["KeyId"], material())
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"
    assert_opens(kms, sealed)


def test_different_material_is_refused_after_deletion(kms):
    """AWS: after deleting imported material "you can reimport the same key
    material", never other material into the same key."""
    key = external_key(kms)
    secret = material()
    import_key_material(kms, key["KeyId"], secret)
    sealed = assert_usable(kms, key)
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    with raises_kms("IncorrectKeyMaterialException"):
        import_key_material(kms, key["KeyId"], material())
    assert_pending_import(kms, key["KeyId"])
    import_key_material(kms, key["KeyId"], secret)
    assert_opens(kms, sealed)


def test_delete_imported_key_material_needs_an_external_key(kms, key):
    with raises_kms("UnsupportedOperationException"):
        kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_import_operations_on_an_external_key_pending_deletion_are_refused(kms):
    key = external_key(kms)
    secret = material()
    import_key_material(kms, key["KeyId"], secret)
    params = params_for(kms, key["KeyId"])
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", secret)
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with raises_kms("KMSInvalidStateException"):
        import_with(kms, key["KeyId"], params, wrapped)
    with raises_kms("KMSInvalidStateException"):
        kms.delete_imported_key_material(KeyId=key["KeyId"])
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    # Cancelling leaves the key Disabled (AWS); its material is still there.
    assert describe(kms, key["KeyId"])["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key["KeyId"])
    assert_usable(kms, key)


# -- ImportKeyMaterial's errors --------------------------------------------------------------------


def test_a_token_made_for_another_key_is_invalid(kms):
    key, other = external_key(kms, "target"), external_key(kms, "token-owner")
    params = params_for(kms, other["KeyId"])
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material())
    with raises_kms("InvalidImportTokenException"):
        import_with(kms, key["KeyId"], params, wrapped)
    assert_pending_import(kms, key["KeyId"])
    assert_pending_import(kms, other["KeyId"])


@pytest.mark.parametrize("where", ["first", "middle", "last", "truncated", "extended"])
def test_an_altered_token_is_invalid(where, kms):
    key = external_key(kms)
    params = params_for(kms, key["KeyId"])
    token = params["ImportToken"]
    altered = {
        "first": lambda: flip(token, 0),
        "middle": lambda: flip(token, len(token) // 2),
        "last": lambda: flip(token, len(token) - 1),
        "truncated": lambda: token[:-1],
        "extended": lambda: token + b"\0",
    }[where]()
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material())
    with raises_kms("InvalidImportTokenException"):
        import_with(kms, key["KeyId"], {"ImportToken": altered}, wrapped)
    assert_pending_import(kms, key["KeyId"])
    import_with(kms, key["KeyId"], params, wrapped)  # the genuine token still works
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_a_token_from_another_key_is_refused_for_a_kms_origin_key(kms, key):
    """AWS names UnsupportedOperationException for a key whose origin is not
    EXTERNAL; the token (made for another key) is wrong too, so either refusal
    is right — accepting it is not."""
    other = external_key(kms, "token-owner")
    params = params_for(kms, other["KeyId"])
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material())
    with raises_kms({"UnsupportedOperationException", "InvalidImportTokenException"}):
        import_with(kms, key["KeyId"], params, wrapped)


@pytest.mark.parametrize("asked, wrapped_with", [
    ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"),
    ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"),
    ("RSA_AES_KEY_WRAP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1"),
    ("RSA_AES_KEY_WRAP_SHA_256", "RSAES_OAEP_SHA_256"),
    ("RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"),
])
def test_material_wrapped_with_the_wrong_algorithm_is_invalid_ciphertext(asked, wrapped_with, kms):
    key = external_key(kms)
    params = params_for(kms, key["KeyId"], asked)
    with raises_kms("InvalidCiphertextException"):
        import_with(kms, key["KeyId"], params, wrap_key_material(params["PublicKey"], wrapped_with, material()))
    assert_pending_import(kms, key["KeyId"])


def test_material_wrapped_with_another_public_key_is_invalid_ciphertext(kms):
    """AWS: "You must use a public key and token from the same GetParametersForImport response"."""
    key = external_key(kms)
    params, other = params_for(kms, key["KeyId"]), params_for(kms, key["KeyId"])
    with raises_kms("InvalidCiphertextException"):
        import_with(kms, key["KeyId"], params, wrap_key_material(other["PublicKey"], "RSAES_OAEP_SHA_256", material()))
    own = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = own.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with raises_kms("InvalidCiphertextException"):
        import_with(kms, key["KeyId"], params, wrap_key_material(der, "RSAES_OAEP_SHA_256", material()))
    assert_pending_import(kms, key["KeyId"])


@pytest.mark.parametrize("algorithm, where", [
    ("RSAES_OAEP_SHA_256", "middle"),
    ("RSAES_OAEP_SHA_1", "last"),
    ("RSAES_OAEP_SHA_256", "truncated"),
    ("RSA_AES_KEY_WRAP_SHA_256", "first"),
    ("RSA_AES_KEY_WRAP_SHA_256", "last"),
    ("RSA_AES_KEY_WRAP_SHA_1", "truncated"),
])
def test_tampered_material_is_invalid_ciphertext(algorithm, where, kms):
    key = external_key(kms)
    params = params_for(kms, key["KeyId"], algorithm)
    wrapped = wrap_key_material(params["PublicKey"], algorithm, material())
    tampered = {
        "first": lambda: flip(wrapped, 0),
        "middle": lambda: flip(wrapped, len(wrapped) // 2),
        "last": lambda: flip(wrapped, len(wrapped) - 1),
        "truncated": lambda: wrapped[:-8],
    }[where]()
    with raises_kms("InvalidCiphertextException"):
        import_with(kms, key["KeyId"], params, tampered)
    assert_pending_import(kms, key["KeyId"])
    import_with(kms, key["KeyId"], params, wrapped)
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"


@pytest.mark.parametrize("algorithm, size", [
    ("RSAES_OAEP_SHA_256", 16),
    ("RSAES_OAEP_SHA_256", 31),
    ("RSAES_OAEP_SHA_1", 33),
    ("RSA_AES_KEY_WRAP_SHA_256", 24),
    ("RSA_AES_KEY_WRAP_SHA_1", 64),
])
def test_material_that_is_not_32_bytes_is_incorrect(algorithm, size, kms):
    key = external_key(kms)
    params = params_for(kms, key["KeyId"], algorithm)
    with raises_kms("IncorrectKeyMaterialException"):
        import_with(kms, key["KeyId"], params, wrap_key_material(params["PublicKey"], algorithm, os.urandom(size)))
    assert_pending_import(kms, key["KeyId"])


# -- expiration model and ValidTo --------------------------------------------------------------------


def _prepared(kms) -> tuple[dict, dict, bytes]:
    key = external_key(kms)
    params = params_for(kms, key["KeyId"])
    return key, params, wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material())


def utc(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.timezone.utc)


@pytest.mark.parametrize("extra", [
    pytest.param({"ExpirationModel": "KEY_MATERIAL_EXPIRES"}, id="expires-without-valid-to"),
    pytest.param({"ExpirationModel": NEVER, "ValidTo": "future"}, id="never-with-valid-to"),
    pytest.param({"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": "past"}, id="expires-in-the-past"),
    pytest.param({"ValidTo": "past"}, id="valid-to-in-the-past"),
])
def test_inconsistent_expiration_is_a_validation_error(extra, kms):
    key, params, wrapped = _prepared(kms)
    now = time.time()
    request = dict(extra)
    if "ValidTo" in request:
        request["ValidTo"] = utc(now + DAY_S if request["ValidTo"] == "future" else now - HOUR_S)
    with raises_kms("ValidationException"):
        kms.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrapped, **request)
    assert_pending_import(kms, key["KeyId"])


@pytest.mark.parametrize("model", [None, "KEY_MATERIAL_EXPIRES"])
def test_valid_to_makes_the_material_expire(model, kms):
    """Without ExpirationModel a ValidTo means the material expires (AWS: the
    default is KEY_MATERIAL_EXPIRES when ValidTo is present)."""
    key, params, wrapped = _prepared(kms)
    valid_to = int(time.time()) + 10 * DAY_S
    extra = {"ValidTo": utc(valid_to)}
    if model:
        extra["ExpirationModel"] = model
    import_with(kms, key["KeyId"], params, wrapped, **extra)
    meta = describe(kms, key["KeyId"])
    assert meta["KeyState"] == "Enabled"
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs(meta["ValidTo"].timestamp() - valid_to) <= 1, meta["ValidTo"]


def test_re_import_changes_the_expiration(kms):
    key = external_key(kms)
    secret = material()
    valid_to = int(time.time()) + 3 * DAY_S
    import_key_material(kms, key["KeyId"], secret, ValidTo=utc(valid_to), ExpirationModel="KEY_MATERIAL_EXPIRES")
    assert abs(describe(kms, key["KeyId"])["ValidTo"].timestamp() - valid_to) <= 1
    import_key_material(kms, key["KeyId"], secret)
    meta = describe(kms, key["KeyId"])
    assert meta["ExpirationModel"] == NEVER
    assert "ValidTo" not in meta, meta


# -- time travel ----------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(clock_server, clock_kms):
    kms = clock_kms
    key = external_key(kms)
    secret = material()
    params = params_for(kms, key["KeyId"])
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", secret)
    late = params_for(kms, key["KeyId"])
    late_wrapped = wrap_key_material(late["PublicKey"], "RSAES_OAEP_SHA_256", secret)

    clock_server.advance_clock(DAY_S - 10 * 60)
    import_with(kms, key["KeyId"], params, wrapped)  # 23 h 50 min old: still valid
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"
    kms.delete_imported_key_material(KeyId=key["KeyId"])

    clock_server.advance_clock(20 * 60)
    with raises_kms("ExpiredImportTokenException"):
        import_with(kms, key["KeyId"], late, late_wrapped)
    assert_pending_import(kms, key["KeyId"])
    import_key_material(kms, key["KeyId"], secret)  # fresh parameters work
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_parameters_valid_to_follows_the_server_clock(clock_server, clock_kms):
    key = external_key(clock_kms)
    jump = clock_server.advance_clock(5 * DAY_S)
    params = params_for(clock_kms, key["KeyId"])
    assert abs(params["ParametersValidTo"].timestamp() - (jump["now"] + DAY_S)) < TOLERANCE_S


def test_valid_to_is_judged_by_the_server_clock(clock_server, clock_kms):
    kms = clock_kms
    key = external_key(kms)
    real_future = time.time() + HOUR_S
    clock_server.advance_clock(2 * DAY_S)
    params = params_for(kms, key["KeyId"])
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material())
    with raises_kms("ValidationException"):
        import_with(kms, key["KeyId"], params, wrapped, ValidTo=utc(real_future))
    assert_pending_import(kms, key["KeyId"])


def test_imported_material_expires_and_re_import_restores_the_key(clock_server, clock_kms):
    kms = clock_kms
    key = external_key(kms, "expiring")
    secret = material()
    valid_to = int(clock_server.clock_now()) + HOUR_S
    first = import_key_material(kms, key["KeyId"], secret, ValidTo=utc(valid_to),
                                ExpirationModel="KEY_MATERIAL_EXPIRES")
    meta = describe(kms, key["KeyId"])
    assert (meta["KeyState"], meta["ExpirationModel"]) == ("Enabled", "KEY_MATERIAL_EXPIRES")
    assert abs(meta["ValidTo"].timestamp() - valid_to) <= 1
    sealed = assert_usable(kms, key)

    jump = clock_server.advance_clock(30 * 60)
    assert "expired" in jump, f"the clock answer does not report expired material: {jump}"
    assert jump["expired"] == 0, jump
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"
    assert_opens(kms, sealed)

    jump = clock_server.advance_clock(HOUR_S)
    assert jump["expired"] == 1, f"the material was not expired at ValidTo: {jump}"
    assert_pending_import(kms, key["KeyId"])
    assert_unusable(kms, key["KeyId"], sealed)

    again = import_key_material(kms, key["KeyId"], secret, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    meta = describe(kms, key["KeyId"])
    assert (meta["KeyState"], meta["Enabled"], meta["ExpirationModel"]) == ("Enabled", True, NEVER)
    assert "ValidTo" not in meta
    assert_opens(kms, sealed)
    jump = clock_server.advance_clock(30 * DAY_S)
    assert jump["expired"] == 0, jump
    assert describe(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_deleted_material_is_not_expired_again(clock_server, clock_kms):
    """Material deleted before its ValidTo is gone already: nothing expires at ValidTo."""
    kms = clock_kms
    key = external_key(kms)
    import_key_material(kms, key["KeyId"], material(), ValidTo=utc(int(clock_server.clock_now()) + HOUR_S))
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    jump = clock_server.advance_clock(2 * HOUR_S)
    assert jump.get("expired") == 0, jump
    assert_pending_import(kms, key["KeyId"])


# -- rotation on EXTERNAL keys ----------------------------------------------------------------------------


@pytest.mark.parametrize("operation, extra", [
    ("enable_key_rotation", {}),
    ("enable_key_rotation", {"RotationPeriodInDays": 90}),
    ("disable_key_rotation", {}),
])
def test_automatic_rotation_of_an_external_key_is_unsupported(operation, extra, kms):
    """AWS: automatic rotation does not apply to keys with imported material; they
    rotate on demand to material imported as NEW_KEY_MATERIAL (test_import_rotation.py)."""
    key = external_key(kms)
    first = import_key_material(kms, key["KeyId"], material())
    with raises_kms("UnsupportedOperationException"):
        getattr(kms, operation)(KeyId=key["KeyId"], **extra)
    assert kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"] == []
    sealed = assert_usable(kms, key)
    assert sealed["material"] == first["KeyMaterialId"]


# -- the AWS CLI ------------------------------------------------------------------------------------------


def aws(server, *args: str) -> dict:
    cmd = [sys.executable, "-m", "awscli", "kms", *args, "--output", "json"]
    proc = subprocess.run(cmd, env=server.cli_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"])
def test_cli_import_flow(algorithm, server, kms, tmp_path):
    import base64

    key = aws(server, "create-key", "--origin", "EXTERNAL", "--description", unique("cli-import"))["KeyMetadata"]
    assert (key["Origin"], key["KeyState"]) == ("EXTERNAL", "PendingImport")
    params = aws(server, "get-parameters-for-import", "--key-id", key["KeyId"],
                 "--wrapping-algorithm", algorithm, "--wrapping-key-spec", "RSA_2048")
    assert params["KeyId"] == key["Arn"]
    public_key = base64.b64decode(params["PublicKey"])
    token_path, material_path = tmp_path / "ImportToken.bin", tmp_path / "EncryptedKeyMaterial.bin"
    token_path.write_bytes(base64.b64decode(params["ImportToken"]))
    material_path.write_bytes(wrap_key_material(public_key, algorithm, material()))
    answer = aws(server, "import-key-material", "--key-id", key["KeyId"],
                 "--encrypted-key-material", f"fileb://{material_path}",
                 "--import-token", f"fileb://{token_path}",
                 "--expiration-model", NEVER)
    assert answer["KeyId"] == key["Arn"]
    assert re.fullmatch(KEY_MATERIAL_ID_RE, answer["KeyMaterialId"])
    meta = aws(server, "describe-key", "--key-id", key["KeyId"])["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"], meta["ExpirationModel"]) == ("Enabled", True, NEVER)
    sealed = assert_usable(kms, key)
    assert aws(server, "delete-imported-key-material", "--key-id", key["KeyId"])["KeyId"] == key["Arn"]
    assert_unusable(kms, key["KeyId"], sealed)
