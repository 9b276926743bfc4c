"""`strongroom policy simulate` (and the API under it) and `strongroom admin create-account`,
run as a shell user runs them, against the shared dev server."""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from iam_sts_helpers import allow, client, make_user
from kms_helpers import find_secret
from kms_helpers import unique as unique_name

TIMEOUT_S = 60
DENIED_EXIT = 2


def simulate(strongroom_bin, server, *args: str, creds=None, json_out: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = server.endpoint
    env["AWS_REGION"] = server.region
    env["AWS_ACCESS_KEY_ID"] = creds[0] if creds else server.access_key_id
    env["AWS_SECRET_ACCESS_KEY"] = creds[1] if creds else server.secret_access_key
    argv = [strongroom_bin, "policy", "simulate", *args] + (["--json"] if json_out else [])
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def answer(proc) -> dict:
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def iam(server):
    return client("iam", server)


@pytest.fixture
def kms(server):
    return client("kms", server)


def test_root_is_allowed_by_the_default_key_policy(
        strongroom_bin, server, kms, account_id):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    proc = simulate(strongroom_bin, server, "--principal", f"arn:aws:iam::{account_id}:root",
                    "--action", "kms:Encrypt", "--key-id", key)
    assert proc.returncode == 0, proc.stderr
    assert answer(proc) == {
        "Decision": "allowed",
        # The root user is the principal the statement names: nothing else is needed.
        "DecidedBy": [{"Type": "KeyPolicyAllow", "Sid": "Enable IAM User Permissions"}],
    }
    text = simulate(strongroom_bin, server, "--principal", f"arn:aws:iam::{account_id}:root",
                    "--action", "kms:Encrypt", "--key-id", key, json_out=False)
    assert text.returncode == 0
    assert text.stdout.splitlines()[0] == f"ALLOWED: kms:Encrypt on {key}"
    assert "allowed by the key policy (Sid \"Enable IAM User Permissions\")" in text.stdout


def test_a_user_without_identity_policy_is_denied_by_default(strongroom_bin, server, kms, iam):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    user = make_user(iam, "sim-none")
    proc = simulate(strongroom_bin, server, "--principal", user.arn, "--action", "kms:Decrypt",
                    "--key-id", key)
    assert proc.returncode == DENIED_EXIT, proc.stderr
    assert answer(proc) == {
        "Decision": "denied",
        "DecidedBy": [{
            "Type": "DefaultDeny",
            "Reason": "because no identity-based policy allows the kms:Decrypt action",
        }],
    }
    # The simulator agrees with the real request.
    with pytest.raises(Exception) as info:
        user.client(server, "kms").describe_key(KeyId=key)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"


def test_identity_policy_allow_and_deny_are_named(strongroom_bin, server, kms, iam):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    user = make_user(iam, "sim-allow", policy=allow(["kms:Encrypt", "kms:Decrypt"], key))
    proc = simulate(strongroom_bin, server, "--principal", user.arn, "--action", "kms:Encrypt",
                    "--key-id", key)
    assert proc.returncode == 0, proc.stderr
    assert answer(proc)["DecidedBy"] == [
        {"Type": "KeyPolicyAllow", "Sid": "Enable IAM User Permissions"},
        {"Type": "IdentityPolicyAllow", "PolicyName": "inline"},
    ]
    iam.put_user_policy(UserName=user.name, PolicyName="no-decrypt", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoDecrypt", "Effect": "Deny", "Action": "kms:Decrypt",
                       "Resource": "*"}],
    }))
    proc = simulate(strongroom_bin, server, "--principal", user.arn, "--action", "kms:Decrypt",
                    "--key-id", key)
    assert proc.returncode == DENIED_EXIT
    assert answer(proc)["DecidedBy"] == [
        {"Type": "IdentityPolicyDeny", "PolicyName": "no-decrypt", "Sid": "NoDecrypt"}]


def test_encryption_context_and_source_address_conditions(strongroom_bin, server, kms, iam,
                                                          account_id):
    user = make_user(iam, "sim-ctx")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "FinanceFromLocalhost", "Effect": "Allow", "Principal": {"AWS": user.arn},
             "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:Department": "Finance"},
                           "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        ],
    }
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    base = ["--principal", user.arn, "--action", "kms:Decrypt", "--key-id", key]
    ok = simulate(strongroom_bin, server, *base, "--context", "Department=Finance",
                  "--source-ip", "10.1.2.3")
    assert ok.returncode == 0, ok.stderr
    assert answer(ok)["DecidedBy"] == [{"Type": "KeyPolicyAllow", "Sid": "FinanceFromLocalhost"}]
    for extra in (["--context", "Department=Sales", "--source-ip", "10.1.2.3"],
                  ["--context", "Department=Finance", "--source-ip", "192.0.2.1"],
                  ["--source-ip", "10.1.2.3"]):
        proc = simulate(strongroom_bin, server, *base, *extra)
        assert proc.returncode == DENIED_EXIT, extra
        assert answer(proc)["DecidedBy"][0]["Type"] == "DefaultDeny"


def test_a_grant_is_named_when_it_decides(strongroom_bin, server, kms, iam):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    user = make_user(iam, "sim-grant")
    grant = kms.create_grant(KeyId=key, GranteePrincipal=user.arn, Operations=["Encrypt"],
                             Constraints={"EncryptionContextSubset": {"app": "billing"}})
    base = ["--principal", user.arn, "--action", "kms:Encrypt", "--key-id", key]
    proc = simulate(strongroom_bin, server, *base, "--context", "app=billing")
    assert proc.returncode == 0, proc.stderr
    assert answer(proc)["DecidedBy"] == [{"Type": "Grant", "GrantId": grant["GrantId"]}]
    assert simulate(strongroom_bin, server, *base).returncode == DENIED_EXIT


def test_simulating_someone_else_needs_permission(strongroom_bin, server, kms, iam, account_id):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    other = make_user(iam, "sim-target")
    asker = make_user(iam, "sim-asker", policy=allow("kms:GetKeyPolicy", key))
    creds = (asker.access_key_id, asker.secret_access_key)
    proc = simulate(strongroom_bin, server, "--principal", other.arn, "--action", "kms:Encrypt",
                    "--key-id", key, creds=creds)
    assert proc.returncode == 1
    assert "AccessDeniedException" in proc.stderr
    assert "iam:SimulatePrincipalPolicy" in proc.stderr
    # Asking about oneself needs only read access to the key policy.
    self_check = simulate(strongroom_bin, server, "--principal", asker.arn, "--action",
                          "kms:GetKeyPolicy", "--key-id", key, creds=creds)
    assert self_check.returncode == 0, self_check.stderr


def test_bad_requests_are_refused_precisely(strongroom_bin, server, account_id):
    proc = simulate(strongroom_bin, server, "--principal", "arn:aws:iam::999999999999:user/x",
                    "--action", "kms:Encrypt")
    assert proc.returncode == 1
    assert "ValidationException" in proc.stderr and "PrincipalArn" in proc.stderr
    proc = simulate(strongroom_bin, server, "--principal", f"arn:aws:iam::{account_id}:root",
                    "--action", "Encrypt")
    assert proc.returncode == 1 and "ValidationException" in proc.stderr
    proc = simulate(strongroom_bin, server, "--principal", f"arn:aws:iam::{account_id}:root",
                    "--action", "kms:Encrypt", "--context", "no-equals-sign")
    assert proc.returncode == 1 and "KEY=VALUE" in proc.stderr


# -- strongroom admin create-account -------------------------------------------------


def create_account(strongroom_bin, data_dir, *extra: str):
    return subprocess.run([strongroom_bin, "admin", "create-account", "--data-dir", str(data_dir),
                           *extra], capture_output=True, text=True, timeout=TIMEOUT_S)


def test_create_account_prints_working_root_credentials_once(strongroom_bin, server):
    wanted = "4" + "".join(secrets.choice("0123456789") for _ in range(11))
    proc = create_account(strongroom_bin, server.data_dir, "--account-id", wanted)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"AccountId", "AccessKeyId", "SecretAccessKey"}
    assert out["AccountId"] == wanted
    sts = client("sts", server, out["AccessKeyId"], out["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{wanted}:root"
    kms = client("kms", server, out["AccessKeyId"], out["SecretAccessKey"])
    key = kms.create_key()["KeyMetadata"]
    assert key["AWSAccountId"] == wanted
    again = create_account(strongroom_bin, server.data_dir, "--account-id", wanted)
    assert again.returncode != 0
    assert "already exists" in again.stderr
    # The secret is stored only wrapped: in no form, in no file of the data directory (the
    # store's write-ahead log included).
    secret = out["SecretAccessKey"].encode()
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert find_secret(path.read_bytes(), secret) == [], path


def test_create_account_picks_an_id_and_refuses_a_bad_one(strongroom_bin, server, tmp_path):
    proc = create_account(strongroom_bin, server.data_dir)
    assert proc.returncode == 0, proc.stderr
    account = json.loads(proc.stdout)["AccountId"]
    assert len(account) == 12 and account.isdigit()
    bad = create_account(strongroom_bin, server.data_dir, "--account-id", "12345")
    assert bad.returncode != 0 and "12-digit" in bad.stderr
    empty = create_account(strongroom_bin, tmp_path / "nothing-here")
    assert empty.returncode != 0 and "no Strongroom store" in empty.stderr


def test_resource_aliases_condition_follows_the_keys_aliases(strongroom_bin, server, kms, iam,
                                                             account_id):
    user = make_user(iam, "sim-alias")
    alias = f"alias/{unique_name('payments')}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "ByAlias", "Effect": "Allow", "Principal": {"AWS": user.arn},
             "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}},
        ],
    }
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    user_kms = user.client(server, "kms")
    with pytest.raises(Exception) as info:
        user_kms.encrypt(KeyId=key, Plaintext=b"x")
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    kms.create_alias(AliasName=alias, TargetKeyId=key)
    assert user_kms.encrypt(KeyId=key, Plaintext=b"x")["KeyId"] == key
    proc = simulate(strongroom_bin, server, "--principal", user.arn, "--action", "kms:Encrypt",
                    "--key-id", key)
    assert answer(proc)["DecidedBy"] == [{"Type": "KeyPolicyAllow", "Sid": "ByAlias"}]
    kms.delete_alias(AliasName=alias)
    with pytest.raises(Exception) as info:
        user_kms.encrypt(KeyId=key, Plaintext=b"x")
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
