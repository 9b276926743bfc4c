"""Helpers for the IAM and STS tests: boto3 clients for any credentials, IAM users
with their own access keys, policy documents, raw Query-protocol requests and the
AWS CLI (v1) for `iam` and `sts`."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kms_helpers import RawResponse, aws_client, send_raw, unique

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
CLI_TIMEOUT_S = 60


def client(service: str, server, access_key_id: str | None = None, secret_access_key: str | None = None,
           session_token: str | None = None, *, validate: bool = True):
    """A boto3 client of `service` (iam, sts, kms) against `server`, with the
    server's root credentials unless others are given. Retries are off."""
    return aws_client(service, server.endpoint, access_key_id or server.access_key_id,
                      secret_access_key or server.secret_access_key, session_token,
                      server.region, validate=validate)


@dataclass
class IamUser:
    """An IAM user created for a test, with one access key."""

    name: str
    arn: str
    user_id: str
    access_key_id: str
    secret_access_key: str

    def client(self, server, service: str, **kwargs):
        return client(service, server, self.access_key_id, self.secret_access_key, **kwargs)


def make_user(iam, prefix: str = "e2e", *, path: str = "/", policy: dict | None = None) -> IamUser:
    """A fresh user with an access key (and an inline policy, if given)."""
    name = unique(prefix)
    user = iam.create_user(UserName=name, Path=path)["User"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return IamUser(name, user["Arn"], user["UserId"], key["AccessKeyId"], key["SecretAccessKey"])


def delete_user_fully(iam, name: str) -> None:
    """Remove a user's keys and inline policies, then the user."""
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy)
    iam.delete_user(UserName=name)


def allow(actions: str | list[str], resource: str = "*") -> dict:
    """An identity policy allowing `actions` on `resource`."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    }


def trust(*principal_arns: str) -> dict:
    """A trust policy letting these principals call sts:AssumeRole."""
    principals: str | list[str] = principal_arns[0] if len(principal_arns) == 1 else list(principal_arns)
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}],
    }


def make_role(iam, trusted: list[str], prefix: str = "e2e", **kwargs) -> dict:
    """A fresh role trusting `trusted` principal ARNs; returns its Role shape."""
    return iam.create_role(
        RoleName=unique(prefix), AssumeRolePolicyDocument=json.dumps(trust(*trusted)), **kwargs
    )["Role"]


def session_client(server, service: str, credentials: dict, **kwargs):
    """A client using AssumeRole's `Credentials`."""
    return client(service, server, credentials["AccessKeyId"], credentials["SecretAccessKey"],
                  credentials["SessionToken"], **kwargs)


# -- raw Query requests -------------------------------------------------------


def query_call(server, service: str, params: dict[str, str] | bytes, *, access_key_id: str | None = None,
               secret_access_key: str | None = None, session_token: str | None = None,
               scope_service: str | None = None, content_type: str = FORM_CONTENT_TYPE,
               signed: bool = True) -> RawResponse:
    """POST / with a form body, signed with SigV4 for `scope_service` (default
    `service`) like botocore signs."""
    body = params if isinstance(params, bytes) else urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": content_type}
    request = AWSRequest(method="POST", url=server.endpoint.rstrip("/") + "/", data=body, headers=headers)
    if signed:
        creds = Credentials(access_key_id or server.access_key_id,
                            secret_access_key or server.secret_access_key, session_token)
        SigV4Auth(creds, scope_service or service, server.region).add_auth(request)
    return send_raw(server.endpoint, dict(request.headers.items()), body)


def xml_error(resp: RawResponse) -> tuple[str, str, str]:
    """(Type, Code, Message) of a Query error document, checked for AWS's shape."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(resp.body)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    assert root.tag == f"{ns}ErrorResponse", resp.body
    error = root.find(f"{ns}Error")
    assert error is not None, resp.body
    request_id = root.find(f"{ns}RequestId")
    assert request_id is not None and request_id.text == resp.header("x-amzn-RequestId"), resp.body

    def text(tag: str) -> str:
        el = error.find(f"{ns}{tag}")
        return "" if el is None or el.text is None else el.text

    return text("Type"), text("Code"), text("Message")


# -- the AWS CLI --------------------------------------------------------------


def aws(server, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`aws ARGS --output json` with the server's printed environment (plus `env`)."""
    full_env = server.cli_env()
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "awscli", *args, "--output", "json"]
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    if check:
        assert proc.returncode == 0, f"{' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return proc


def aws_json(server, *args: str, env: dict[str, str] | None = None) -> Any:
    out = aws(server, *args, env=env).stdout
    return json.loads(out) if out.strip() else {}


def credentials_env(access_key_id: str, secret_access_key: str, session_token: str | None = None) -> dict[str, str]:
    env = {"AWS_ACCESS_KEY_ID": access_key_id, "AWS_SECRET_ACCESS_KEY": secret_access_key}
    if session_token is not None:
        env["AWS_SESSION_TOKEN"] = session_token
    return env
