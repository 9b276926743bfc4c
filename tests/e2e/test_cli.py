"""The AWS CLI (v1, `python -m awscli`) against the server, configured only through
the environment the server prints (AWS_ENDPOINT_URL and the credentials)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from kms_helpers import unique, unique_alias

CLI_TIMEOUT_S = 60


def aws(server, *args: str, check: bool = True, output: str = "json") -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "awscli", "kms", *args, "--output", output]
    proc = subprocess.run(cmd, env=server.cli_env(), capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    if check:
        assert proc.returncode == 0, f"{' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return proc


def aws_json(server, *args: str) -> dict:
    out = aws(server, *args).stdout
    return json.loads(out) if out.strip() else {}


@pytest.fixture
def cli_key(server) -> dict:
    return aws_json(server, "create-key", "--description", unique("cli"))["KeyMetadata"]


def test_cli_create_and_describe_key(server, cli_key, account_id):
    assert cli_key["KeyState"] == "Enabled"
    assert cli_key["Arn"] == f"arn:aws:kms:{server.region}:{account_id}:key/{cli_key['KeyId']}"
    described = aws_json(server, "describe-key", "--key-id", cli_key["Arn"])["KeyMetadata"]
    assert described["KeyId"] == cli_key["KeyId"]
    assert described["Description"] == cli_key["Description"]


def test_cli_encrypt_decrypt_with_files(server, cli_key, tmp_path):
    plaintext = os.urandom(300) + b"cli round trip"
    (tmp_path / "secret.bin").write_bytes(plaintext)
    enc = aws_json(server, "encrypt", "--key-id", cli_key["KeyId"],
                   "--plaintext", f"fileb://{tmp_path / 'secret.bin'}",
                   "--encryption-context", "app=cli,stage=test")
    assert enc["KeyId"] == cli_key["Arn"]
    (tmp_path / "secret.enc").write_bytes(base64.b64decode(enc["CiphertextBlob"]))
    # the documented shell idiom: --query Plaintext --output text | base64 --decode
    dec = aws(server, "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'secret.enc'}",
              "--encryption-context", "app=cli,stage=test", "--query", "Plaintext", output="text")
    assert base64.b64decode(dec.stdout.strip()) == plaintext


def test_cli_decrypt_with_wrong_context_fails(server, cli_key, tmp_path):
    (tmp_path / "p.bin").write_bytes(b"x")
    enc = aws_json(server, "encrypt", "--key-id", cli_key["KeyId"], "--plaintext",
                   f"fileb://{tmp_path / 'p.bin'}", "--encryption-context", "a=b")
    (tmp_path / "c.bin").write_bytes(base64.b64decode(enc["CiphertextBlob"]))
    proc = aws(server, "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'c.bin'}",
               "--encryption-context", "a=c", check=False)
    assert proc.returncode != 0
    assert "InvalidCiphertextException" in proc.stderr


def test_cli_aliases(server, cli_key):
    name = unique_alias("cli")
    created = aws(server, "create-alias", "--alias-name", name, "--target-key-id", cli_key["KeyId"])
    assert created.stdout.strip() == ""
    listed = aws_json(server, "list-aliases", "--key-id", cli_key["KeyId"])["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"]) for a in listed] == [(name, cli_key["KeyId"])]
    everything = aws_json(server, "list-aliases")["Aliases"]  # the CLI follows NextMarker itself
    assert name in {a["AliasName"] for a in everything}
    assert aws_json(server, "describe-key", "--key-id", name)["KeyMetadata"]["KeyId"] == cli_key["KeyId"]


def test_cli_generate_data_key(server, cli_key, tmp_path):
    out = aws_json(server, "generate-data-key", "--key-id", cli_key["KeyId"], "--key-spec", "AES_256")
    data_key = base64.b64decode(out["Plaintext"])
    assert len(data_key) == 32
    assert out["KeyId"] == cli_key["Arn"]
    (tmp_path / "dk.enc").write_bytes(base64.b64decode(out["CiphertextBlob"]))
    dec = aws(server, "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'dk.enc'}",
              "--query", "Plaintext", output="text")
    assert base64.b64decode(dec.stdout.strip()) == data_key


def test_cli_tags(server, cli_key):
    aws(server, "tag-resource", "--key-id", cli_key["KeyId"],
        "--tags", "TagKey=env,TagValue=dev", "TagKey=owner,TagValue=e2e")
    tags = aws_json(server, "list-resource-tags", "--key-id", cli_key["KeyId"])["Tags"]
    assert sorted((t["TagKey"], t["TagValue"]) for t in tags) == [("env", "dev"), ("owner", "e2e")]
    aws(server, "untag-resource", "--key-id", cli_key["KeyId"], "--tag-keys", "env")
    tags = aws_json(server, "list-resource-tags", "--key-id", cli_key["KeyId"])["Tags"]
    assert [(t["TagKey"], t["TagValue"]) for t in tags] == [("owner", "e2e")]


def test_cli_list_keys_includes_the_new_key(server, cli_key):
    keys = aws_json(server, "list-keys")["Keys"]
    assert {"KeyId": cli_key["KeyId"], "KeyArn": cli_key["Arn"]} in keys


def test_cli_error_exits_non_zero_with_the_code_on_stderr(server):
    proc = aws(server, "describe-key", "--key-id", unique_alias("missing"), check=False)
    assert proc.returncode != 0
    assert "NotFoundException" in proc.stderr
    assert proc.stdout.strip() == ""


def test_cli_with_a_wrong_secret_fails_on_the_signature(server):
    env = server.cli_env()
    env["AWS_SECRET_ACCESS_KEY"] = "wrong" + env["AWS_SECRET_ACCESS_KEY"][5:]
    proc = subprocess.run([sys.executable, "-m", "awscli", "kms", "list-keys"], env=env,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert proc.returncode != 0
    assert "InvalidSignatureException" in proc.stderr
