"""Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext and GenerateRandom, checked where possible
against an independent implementation (AES-GCM from `cryptography`)."""

from __future__ import annotations

import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms_helpers import alias_arn, raises_kms

CONTEXT = {"purpose": "e2e", "tenant": "acme", "order": "42"}


def _flip_bit(blob: bytes, index: int) -> bytes:
    data = bytearray(blob)
    data[index] ^= 0x01
    return bytes(data)


# -- Encrypt / Decrypt -------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 17, 1000, 4096])
def test_encrypt_decrypt_round_trip(size, kms, key):
    plaintext = os.urandom(size)
    enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext)
    assert enc["KeyId"] == key["Arn"]
    assert enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = enc["CiphertextBlob"]
    assert len(blob) > size, "ciphertext shorter than plaintext: no authentication tag?"
    assert plaintext not in blob or size < 8
    dec = kms.decrypt(CiphertextBlob=blob)
    assert dec["Plaintext"] == plaintext
    assert dec["KeyId"] == key["Arn"]
    assert dec["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"


def test_same_plaintext_encrypts_differently_each_time(kms, key):
    blobs = {kms.encrypt(KeyId=key["KeyId"], Plaintext=b"same")["CiphertextBlob"] for _ in range(5)}
    assert len(blobs) == 5


@pytest.mark.parametrize("form", ["key id", "key ARN", "alias name", "alias ARN"])
def test_encrypt_and_decrypt_accept_every_identifier_form(form, kms, key, new_alias, server, account_id):
    alias = new_alias(key["KeyId"])
    identifier = {
        "key id": key["KeyId"],
        "key ARN": key["Arn"],
        "alias name": alias,
        "alias ARN": alias_arn(server.region, account_id, alias),
    }[form]
    enc = kms.encrypt(KeyId=identifier, Plaintext=b"forms")
    assert enc["KeyId"] == key["Arn"], "Encrypt must answer with the key ARN"
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], KeyId=identifier)
    assert (dec["Plaintext"], dec["KeyId"]) == (b"forms", key["Arn"])


def test_decrypt_with_another_key_id_is_incorrect_key(kms, new_key):
    first, second = new_key(), new_key()
    blob = kms.encrypt(KeyId=first["KeyId"], Plaintext=b"mine")["CiphertextBlob"]
    with raises_kms("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=blob, KeyId=second["KeyId"])
    with raises_kms("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=blob, KeyId=second["Arn"])


def test_encrypt_with_unknown_key_is_not_found(kms):
    with raises_kms("NotFoundException"):
        kms.encrypt(KeyId=str(uuid.uuid4()), Plaintext=b"x")


def test_encryption_context_round_trip_in_any_order(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"ctx", EncryptionContext=CONTEXT)["CiphertextBlob"]
    reordered = dict(reversed(list(CONTEXT.items())))
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"ctx"


@pytest.mark.parametrize(
    "given",
    [
        None,
        {"purpose": "e2e", "tenant": "acme", "order": "43"},
        {"purpose": "e2e", "tenant": "acme"},
        {**CONTEXT, "extra": "1"},
        {"Purpose": "e2e", "tenant": "acme", "order": "42"},
    ],
    ids=["missing", "wrong value", "missing pair", "extra pair", "key case differs"],
)
def test_wrong_encryption_context_is_invalid_ciphertext(given, kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"ctx", EncryptionContext=CONTEXT)["CiphertextBlob"]
    kwargs = {} if given is None else {"EncryptionContext": given}
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=blob, **kwargs)


def test_context_on_decrypt_of_a_blob_made_without_context_is_invalid(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"plain")["CiphertextBlob"]
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})


def test_tampered_ciphertext_is_invalid_ciphertext(kms, key):
    """Any corruption, including of the header that names the key, must be
    InvalidCiphertextException (AWS reveals nothing about why)."""
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"do not touch", EncryptionContext=CONTEXT)[
        "CiphertextBlob"
    ]
    n = len(blob)
    positions = sorted(p for p in {0, 1, 2, 5, 9, 20, n // 4, n // 2, 3 * n // 4, n - 17, n - 2, n - 1}
                       if 0 <= p < n)
    for index in positions:
        with raises_kms("InvalidCiphertextException"):
            kms.decrypt(CiphertextBlob=_flip_bit(blob, index), EncryptionContext=CONTEXT)
    for cut in sorted({1, 8, n // 2, n - 16, n - 1}):
        with raises_kms("InvalidCiphertextException"):
            kms.decrypt(CiphertextBlob=blob[:cut], EncryptionContext=CONTEXT)
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=blob + b"\x00", EncryptionContext=CONTEXT)
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=os.urandom(n), EncryptionContext=CONTEXT)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == b"do not touch"


# -- disabled keys -----------------------------------------------------------------


def test_disabled_key_refuses_every_cryptographic_operation(kms, new_key):
    key, other = new_key(), new_key()
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"before")["CiphertextBlob"]
    other_blob = kms.encrypt(KeyId=other["KeyId"], Plaintext=b"other")["CiphertextBlob"]
    kms.disable_key(KeyId=key["KeyId"])
    with raises_kms("DisabledException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    with raises_kms("DisabledException"):
        kms.decrypt(CiphertextBlob=blob)
    with raises_kms("DisabledException"):
        kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    with raises_kms("DisabledException"):
        kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=32)
    with raises_kms("DisabledException"):  # disabled source
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other["KeyId"])
    with raises_kms("DisabledException"):  # disabled destination
        kms.re_encrypt(CiphertextBlob=other_blob, DestinationKeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"


# -- ReEncrypt ------------------------------------------------------------------------


def test_re_encrypt_moves_ciphertext_to_another_key_and_context(kms, new_key):
    source, dest = new_key(), new_key()
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=b"move me", EncryptionContext={"s": "1"})[
        "CiphertextBlob"
    ]
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"s": "1"},
        DestinationKeyId=dest["KeyId"],
        DestinationEncryptionContext={"d": "2"},
    )
    assert out["SourceKeyId"] == source["Arn"]
    assert out["KeyId"] == dest["Arn"]
    assert out["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    new_blob = out["CiphertextBlob"]
    dec = kms.decrypt(CiphertextBlob=new_blob, EncryptionContext={"d": "2"})
    assert (dec["Plaintext"], dec["KeyId"]) == (b"move me", dest["Arn"])
    with raises_kms("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=new_blob, EncryptionContext={"s": "1"})


def test_re_encrypt_with_explicit_source_key_and_alias_destination(kms, new_key, new_alias):
    source, dest = new_key(), new_key()
    alias = new_alias(dest["KeyId"])
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=b"aliased")["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=source["Arn"], DestinationKeyId=alias)
    assert (out["SourceKeyId"], out["KeyId"]) == (source["Arn"], dest["Arn"])
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"aliased"


def test_re_encrypt_under_the_same_key_changes_only_the_context(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"same key", EncryptionContext={"v": "1"})[
        "CiphertextBlob"
    ]
    out = kms.re_encrypt(
        CiphertextBlob=blob, SourceEncryptionContext={"v": "1"},
        DestinationKeyId=key["KeyId"], DestinationEncryptionContext={"v": "2"},
    )
    assert out["CiphertextBlob"] != blob
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"v": "2"})["Plaintext"] == b"same key"


def test_re_encrypt_with_wrong_source_context_is_invalid_ciphertext(kms, new_key):
    source, dest = new_key(), new_key()
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=b"x", EncryptionContext={"s": "1"})["CiphertextBlob"]
    with raises_kms("InvalidCiphertextException"):
        kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"s": "2"}, DestinationKeyId=dest["KeyId"])
    with raises_kms("InvalidCiphertextException"):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest["KeyId"])


def test_re_encrypt_with_wrong_source_key_is_incorrect_key(kms, new_key):
    source, other, dest = new_key(), new_key(), new_key()
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with raises_kms("IncorrectKeyException"):
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=other["KeyId"], DestinationKeyId=dest["KeyId"])


def test_re_encrypt_to_unknown_destination_is_not_found(kms, key):
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with raises_kms("NotFoundException"):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=str(uuid.uuid4()))


# -- data keys ------------------------------------------------------------------------


@pytest.mark.parametrize("spec, length", [("AES_128", 16), ("AES_256", 32)])
def test_generate_data_key_works_with_an_independent_aes_gcm(spec, length, kms, key):
    out = kms.generate_data_key(KeyId=key["KeyId"], KeySpec=spec, EncryptionContext=CONTEXT)
    assert out["KeyId"] == key["Arn"]
    data_key = out["Plaintext"]
    assert len(data_key) == length
    assert data_key not in out["CiphertextBlob"]
    nonce, message = os.urandom(12), b"envelope encrypted payload" * 10
    sealed = AESGCM(data_key).encrypt(nonce, message, b"aad")
    unwrapped = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=CONTEXT)
    assert unwrapped["Plaintext"] == data_key
    assert unwrapped["KeyId"] == key["Arn"]
    assert AESGCM(unwrapped["Plaintext"]).decrypt(nonce, sealed, b"aad") == message


@pytest.mark.parametrize("count", [1, 7, 16, 64, 1024])
def test_generate_data_key_number_of_bytes(count, kms, key):
    out = kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=count)
    assert len(out["Plaintext"]) == count
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == out["Plaintext"]


def test_data_keys_are_fresh_each_time(kms, key):
    keys = {kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")["Plaintext"] for _ in range(5)}
    assert len(keys) == 5


@pytest.mark.parametrize("params, length", [({"KeySpec": "AES_128"}, 16), ({"KeySpec": "AES_256"}, 32),
                                            ({"NumberOfBytes": 48}, 48)])
def test_generate_data_key_without_plaintext(params, length, kms, key, new_alias):
    alias = new_alias(key["KeyId"])
    out = kms.generate_data_key_without_plaintext(KeyId=alias, EncryptionContext={"k": "v"}, **params)
    assert "Plaintext" not in out
    assert out["KeyId"] == key["Arn"]
    data_key = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "v"})["Plaintext"]
    assert len(data_key) == length


@pytest.mark.parametrize("operation", ["generate_data_key", "generate_data_key_without_plaintext"])
def test_data_key_spec_and_number_of_bytes_are_exclusive(operation, kms_raw, key):
    # AWS: "You must specify either the KeySpec or the NumberOfBytes parameter (but not both)".
    with raises_kms("ValidationException"):
        getattr(kms_raw, operation)(KeyId=key["KeyId"], KeySpec="AES_256", NumberOfBytes=32)
    with raises_kms("ValidationException"):
        getattr(kms_raw, operation)(KeyId=key["KeyId"])


# -- GenerateRandom ---------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 32, 1024])
def test_generate_random_length(count, kms):
    assert len(kms.generate_random(NumberOfBytes=count)["Plaintext"]) == count


def test_generate_random_is_random(kms):
    samples = [kms.generate_random(NumberOfBytes=32)["Plaintext"] for _ in range(4)]
    assert len(set(samples)) == 4
    big = kms.generate_random(NumberOfBytes=1024)["Plaintext"]
    assert len(set(big)) > 200, "1024 random bytes with fewer than 200 distinct values"


@pytest.mark.parametrize("count", [0, 1025])
def test_generate_random_out_of_range(count, kms_raw):
    with raises_kms("ValidationException", mentions=("numberOfBytes",)):
        kms_raw.generate_random(NumberOfBytes=count)


def test_generate_random_without_number_of_bytes_is_rejected(kms_raw):
    # The API reference says "This parameter is required" although the model
    # marks it optional; AWS answers ValidationException.
    with raises_kms("ValidationException"):
        kms_raw.generate_random()
