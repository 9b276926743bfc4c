"""Helpers for the access-control tests (test_access_control.py): accounts, IAM
users and roles with access keys and inline policies, clients for any
credential set, policy documents, and the checks an access decision is
asserted with.

Strongroom is strongly consistent: a policy, grant or tag change is in force
for the very next request, so nothing here waits or retries.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from kms_helpers import aws_client, error_of, unique

REGION = "us-east-1"
CLI_TIMEOUT_S = 60

LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."


# -- credentials and clients -------------------------------------------------


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def client(service: str, endpoint: str, creds: Creds, region: str = REGION, *, validate: bool = True):
    """A boto3 client for `creds`; retries off (an error is an answer)."""
    return aws_client(service, endpoint, creds.access_key_id, creds.secret_access_key,
                      creds.session_token, region, validate=validate)


@dataclass
class Principal:
    """Someone who signs requests: an account root, an IAM user or a role session."""

    endpoint: str
    account_id: str
    arn: str
    creds: Creds
    name: str = ""
    user_id: str = ""
    _clients: dict = field(default_factory=dict, repr=False)

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = client(service, self.endpoint, self.creds)
        return self._clients[service]

    @property
    def kms(self):
        return self.client("kms")

    @property
    def iam(self):
        return self.client("iam")

    @property
    def sts(self):
        return self.client("sts")


@dataclass
class Role:
    name: str
    arn: str
    role_id: str
    account_id: str


class Account:
    """One Strongroom account seen through its root credentials."""

    def __init__(self, endpoint: str, account_id: str, creds: Creds) -> None:
        self.endpoint = endpoint
        self.account_id = account_id
        self.root = Principal(endpoint, account_id, f"arn:aws:iam::{account_id}:root", creds,
                              name="root", user_id=account_id)

    @property
    def root_arn(self) -> str:
        return self.root.arn

    @property
    def kms(self):
        return self.root.kms

    @property
    def iam(self):
        return self.root.iam

    def key_arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{REGION}:{self.account_id}:key/{key_id}"

    def alias_arn(self, alias_name: str) -> str:
        return f"arn:aws:kms:{REGION}:{self.account_id}:{alias_name}"

    def user_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{name}"

    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{name}"

    # -- IAM --------------------------------------------------------------

    def create_user(self, prefix: str = "user", *, policies: dict[str, Any] | None = None,
                    tags: dict[str, str] | None = None) -> Principal:
        """An IAM user with one active access key and the given inline policies
        (name -> document, dict or JSON text)."""
        name = unique(prefix)
        kwargs: dict[str, Any] = {"UserName": name}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        user = self.iam.create_user(**kwargs)["User"]
        assert user["Arn"] == self.user_arn(name), user
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        for policy_name, document in (policies or {}).items():
            self.put_user_policy(name, policy_name, document)
        return Principal(self.endpoint, self.account_id, user["Arn"],
                         Creds(key["AccessKeyId"], key["SecretAccessKey"]), name=name, user_id=user["UserId"])

    def put_user_policy(self, user_name: str, policy_name: str, document: Any) -> None:
        self.iam.put_user_policy(UserName=user_name, PolicyName=policy_name, PolicyDocument=as_text(document))

    def create_role(self, prefix: str = "role", *, trust: Any, policies: dict[str, Any] | None = None,
                    tags: dict[str, str] | None = None, max_session_duration: int | None = None) -> Role:
        name = unique(prefix)
        kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": as_text(trust)}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        if max_session_duration is not None:
            kwargs["MaxSessionDuration"] = max_session_duration
        role = self.iam.create_role(**kwargs)["Role"]
        assert role["Arn"] == self.role_arn(name), role
        for policy_name, document in (policies or {}).items():
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=as_text(document))
        return Role(name, role["Arn"], role["RoleId"], self.account_id)

    def assume(self, caller: Principal, role: Role, session_name: str | None = None, **kwargs) -> Principal:
        """AssumeRole as `caller`; a Principal signing with the session credentials."""
        session_name = session_name or unique("session")
        answer = caller.sts.assume_role(RoleArn=role.arn, RoleSessionName=session_name, **kwargs)
        c = answer["Credentials"]
        assumed = answer["AssumedRoleUser"]
        return Principal(self.endpoint, role.account_id, assumed["Arn"],
                         Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]),
                         name=session_name, user_id=assumed["AssumedRoleId"])


# -- policy documents ------------------------------------------------------------


def as_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def stmt(effect: str, actions: Any, resources: Any = "*", *, principal: Any = None,
         condition: dict | None = None, sid: str | None = None, not_actions: bool = False) -> dict:
    """One statement. `principal` is an ARN, account id, '*' or a list of them
    (wrapped as {"AWS": ...}); leave it None for identity policies."""
    s: dict[str, Any] = {}
    if sid:
        s["Sid"] = sid
    s["Effect"] = effect
    if principal is not None:
        s["Principal"] = principal if isinstance(principal, dict) else {"AWS": principal}
    s["NotAction" if not_actions else "Action"] = actions
    s["Resource"] = resources
    if condition:
        s["Condition"] = condition
    return s


def allow(actions: Any, resources: Any = "*", **kw) -> dict:
    return stmt("Allow", actions, resources, **kw)


def deny(actions: Any, resources: Any = "*", **kw) -> dict:
    return stmt("Deny", actions, resources, **kw)


def trust(*principals: str, condition: dict | None = None) -> dict:
    """A role trust policy letting `principals` call sts:AssumeRole (no Resource:
    IAM refuses one in a trust policy)."""
    s: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": list(principals) if len(principals) > 1
                                                          else principals[0]},
                         "Action": "sts:AssumeRole"}
    if condition:
        s["Condition"] = condition
    return doc(s)


def root_statement(account_id: str) -> dict:
    """The default key policy's statement: the account delegates to IAM."""
    return allow("kms:*", principal=f"arn:aws:iam::{account_id}:root", sid="Enable IAM User Permissions")


def key_policy(account_id: str | None, *statements: dict) -> str:
    """A key policy: the root statement of `account_id` (None: without it) plus `statements`."""
    body = ([root_statement(account_id)] if account_id else []) + list(statements)
    return json.dumps(doc(*body))


# AWS's example statements ("Default key policy": key administrators and key users).
KEY_ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
]
KEY_USER_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


# -- asserting decisions ------------------------------------------------------------


@contextlib.contextmanager
def denied(caller: Principal | str | None = None, action: str | None = None) -> Iterator[Any]:
    """Expect KMS's AccessDeniedException (HTTP 400) naming the caller's ARN and
    the action (`kms:Encrypt`)."""
    with pytest.raises(ClientError) as info:
        yield info
    code, message, status = error_of(info.value)
    assert code == "AccessDeniedException", f"expected AccessDeniedException, got {code}: {message!r}"
    assert status == 400, f"AccessDeniedException came with HTTP {status}"
    arn = caller.arn if isinstance(caller, Principal) else caller
    if arn:
        assert arn in message, f"AccessDeniedException message {message!r} does not name the caller {arn}"
    if action:
        assert action in message, f"AccessDeniedException message {message!r} does not name {action}"


@contextlib.contextmanager
def query_error(code: str, status: int | None = None) -> Iterator[Any]:
    """Expect an IAM or STS (query protocol) error with this code."""
    with pytest.raises(ClientError) as info:
        yield info
    got_code, message, got_status = error_of(info.value)
    assert got_code == code, f"expected {code}, got {got_code}: {message!r}"
    if status is not None:
        assert got_status == status, f"{got_code} came with HTTP {got_status}, expected {status}"


def encrypt(principal: Principal, key_id: str, context: dict | None = None, **kw) -> dict:
    args: dict[str, Any] = {"KeyId": key_id, "Plaintext": b"access control"}
    if context is not None:
        args["EncryptionContext"] = context
    args.update(kw)
    return principal.kms.encrypt(**args)


# -- the AWS CLI with any credentials ---------------------------------------------------


def cli_env(server, creds: Creds) -> dict[str, str]:
    env = server.cli_env()
    env["AWS_ACCESS_KEY_ID"] = creds.access_key_id
    env["AWS_SECRET_ACCESS_KEY"] = creds.secret_access_key
    env.pop("AWS_SESSION_TOKEN", None)
    if creds.session_token:
        env["AWS_SESSION_TOKEN"] = creds.session_token
    return env


def aws(server, creds: Creds, *args: str, check: bool = True, output: str = "json") -> subprocess.CompletedProcess:
    """`python -m awscli ARGS --output OUTPUT` signed with `creds`."""
    cmd = [sys.executable, "-m", "awscli", *args, "--output", output]
    proc = subprocess.run(cmd, env=cli_env(server, creds), capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    if check:
        assert proc.returncode == 0, f"aws {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return proc


def aws_json(server, creds: Creds, *args: str) -> dict:
    out = aws(server, creds, *args).stdout
    return json.loads(out) if out.strip() else {}


# -- accounts made with `strongroom admin create-account` ----------------------------------


def create_account(binary: str, data_dir, account_id: str | None = None) -> dict:
    """Runs `strongroom admin create-account --data-dir DIR [--account-id ID]`;
    returns the JSON object it prints."""
    cmd = [binary, "admin", "create-account", "--data-dir", str(data_dir)]
    if account_id:
        cmd += ["--account-id", account_id]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env=dict(os.environ))
    assert proc.returncode == 0, f"{' '.join(cmd)} -> {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    answer = json.loads(proc.stdout)
    assert set(answer) == {"AccountId", "AccessKeyId", "SecretAccessKey"}, answer
    return answer
