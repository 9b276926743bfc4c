"""Secrets never leak: after a run full of sentinel plaintexts, data keys, random
bytes and failed requests, neither the server's logs nor any file in its data
directory (SQLite WAL and shared-memory files included) contains any of them,
raw or hex or base64, nor the secret access key outside dev-credentials.env."""

from __future__ import annotations

import base64
import binascii
import uuid
from pathlib import Path

import pytest

from kms_helpers import find_secret, kms_client, raises_kms, raw_call
from strongroom_server import parse_exports, random_secret_access_key

CREDENTIALS_FILE = "dev-credentials.env"
ROOT_KEY_FILE = "root.key"


def _files_under(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file()]


def _scan(paths: list[Path], secrets: dict[str, bytes]) -> list[str]:
    leaks = []
    for path in paths:
        data = path.read_bytes()
        for label, secret in secrets.items():
            for form in find_secret(data, secret):
                leaks.append(f"{label} ({form}) in {path}")
    return leaks


def _root_key_forms(data_dir: Path) -> dict[str, bytes]:
    """The root key as stored in root.key, plus its decoding if it is hex or base64."""
    path = data_dir / ROOT_KEY_FILE
    if not path.exists():
        return {}
    raw = path.read_bytes()
    forms: dict[str, bytes] = {}
    for i, token in enumerate(raw.split()):
        if len(token) < 32:
            continue  # a label or version, not key material
        forms[f"root.key token {i}"] = token
        for decode in (bytes.fromhex, base64.b64decode):
            try:
                decoded = decode(token.decode("ascii"))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                continue
            if len(decoded) >= 16:
                forms[f"root.key token {i} ({decode.__name__})"] = decoded
    if not forms and len(raw) >= 16:
        forms["root.key bytes"] = raw  # binary file: the key itself
    return forms


def _exercise(srv, kms, sentinel: bytes) -> dict[str, bytes]:
    """Use the server the way a client would, through success and failure paths.
    Returns every secret value it saw go over the wire."""
    seen: dict[str, bytes] = {"sentinel plaintext": sentinel}
    key = kms.create_key(Description="secrets test")["KeyMetadata"]
    other = kms.create_key(Description="secrets test 2")["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=sentinel, EncryptionContext={"c": "1"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"c": "1"})["Plaintext"] == sentinel
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"c": "1"},
                           DestinationKeyId=other["KeyId"])["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=moved)["Plaintext"] == sentinel
    for spec in ["AES_256", "AES_128"]:
        dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec=spec)
        seen[f"data key {spec}"] = dk["Plaintext"]
        assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    dk = kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=64)
    seen["data key 64 bytes"] = dk["Plaintext"]
    wrapped = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    seen["data key without plaintext"] = kms.decrypt(CiphertextBlob=wrapped["CiphertextBlob"])["Plaintext"]
    seen["random bytes"] = kms.generate_random(NumberOfBytes=48)["Plaintext"]

    # failure paths, each carrying the sentinel
    messages = []
    for attempt in (
        lambda: kms.encrypt(KeyId=str(uuid.uuid4()), Plaintext=sentinel),
        lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"c": "wrong"}),
        lambda: kms.decrypt(CiphertextBlob=blob[:-1] + bytes([blob[-1] ^ 1]), EncryptionContext={"c": "1"}),
    ):
        with pytest.raises(Exception) as info:
            attempt()
        messages.append(str(info.value))
    raw_kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region, validate=False)
    with raises_kms("ValidationException") as info:
        raw_kms.encrypt(KeyId=key["KeyId"], Plaintext=(sentinel * 200)[:4097])
    messages.append(str(info.value))
    kms.disable_key(KeyId=key["KeyId"])
    with raises_kms("DisabledException") as info:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=sentinel)
    messages.append(str(info.value))
    bad_sig = raw_call(srv, "Encrypt", {"KeyId": other["KeyId"], "Plaintext": base64.b64encode(sentinel).decode()},
                       secret_access_key=random_secret_access_key())
    assert bad_sig.error_code == "InvalidSignatureException"
    messages.append(bad_sig.body.decode(errors="replace"))
    for message in messages:
        leaked = find_secret(message.encode(), sentinel)
        assert not leaked, f"an error message echoes the plaintext ({leaked}): {message[:300]}"
    return seen


def test_no_secret_in_logs_or_data_files(make_server):
    srv = make_server("secrets", extra_env={"RUST_LOG": "debug", "RUST_BACKTRACE": "1"})
    srv.start()
    kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    sentinel = b"SENTINEL-PLAINTEXT-7f3a-" + uuid.uuid4().hex.encode()
    seen = _exercise(srv, kms, sentinel)
    secret_key = srv.secret_access_key.encode()
    root_forms = _root_key_forms(srv.data_dir)

    def check(phase: str) -> None:
        files = _files_under(srv.data_dir)
        assert any(p.name not in (CREDENTIALS_FILE, ROOT_KEY_FILE) for p in files), \
            "the data directory holds no store: nothing was persisted?"
        logs = srv.log_files()
        leaks = _scan(files + logs, seen)
        leaks += _scan([p for p in files if p.name != ROOT_KEY_FILE] + logs, root_forms)
        # dev-credentials.env and the stdout export line hold the secret by design
        leaks += _scan([p for p in files if p.name != CREDENTIALS_FILE] + srv.stderr_paths,
                       {"secret access key": secret_key})
        stdout_rest = b"\n".join(
            line for p in srv.stdout_paths for line in p.read_bytes().splitlines()
            if not line.strip().startswith(b"export AWS_SECRET_ACCESS_KEY="))
        leaks += [f"secret access key ({form}) in stdout outside its export line"
                  for form in find_secret(stdout_rest, secret_key)]
        assert not leaks, f"{phase}: " + "; ".join(leaks)

    check("while running (WAL present)")
    assert srv.stop() == 0
    check("after shutdown")


def test_credentials_and_root_key_files_are_private(make_server):
    srv = make_server("file-modes")
    srv.start()
    creds = srv.data_dir / CREDENTIALS_FILE
    root = srv.data_dir / ROOT_KEY_FILE
    for path in (creds, root):
        assert path.is_file(), f"{path.name} missing"
        mode = path.stat().st_mode & 0o777
        assert mode == 0o600, f"{path.name} has mode {oct(mode)}, expected 0o600"
    assert parse_exports(creds.read_text()) == srv.exports, "dev-credentials.env differs from stdout"
