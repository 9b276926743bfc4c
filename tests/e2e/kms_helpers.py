"""Small helpers shared by the test files: clients, error checks, raw signed
requests and the encodings a leaked secret could take."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Any, Iterator
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
KEY_MATERIAL_ID_RE = r"[0-9a-f]{64}"
DAY_S = 86_400


def unique(prefix: str = "e2e") -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def unique_alias(prefix: str = "e2e") -> str:
    return f"alias/{unique(prefix)}"


def aws_client(
    service: str,
    endpoint: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
    region: str = "us-east-1",
    *,
    validate: bool = True,
    read_timeout: float = 60,
):
    """A boto3 client of `service` (kms, iam, sts) with its own session (safe to use from
    one thread).

    Retries are off: a 5xx or throttling answer is a failure, not something to
    paper over.
    """
    session = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
        config=Config(
            parameter_validation=validate,
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=read_timeout,
            max_pool_connections=20,
        ),
    )


def kms_client(
    endpoint: str,
    access_key_id: str,
    secret_access_key: str,
    region: str = "us-east-1",
    *,
    validate: bool = True,
    read_timeout: float = 60,
):
    """A boto3 KMS client (see `aws_client`)."""
    return aws_client("kms", endpoint, access_key_id, secret_access_key, None, region,
                      validate=validate, read_timeout=read_timeout)


def error_of(exc: ClientError) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a botocore ClientError."""
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return err.get("Code", ""), err.get("Message", "") or "", status


@contextlib.contextmanager
def raises_kms(code: str | set[str], status: int = 400, *, mentions: tuple[str, ...] = ()) -> Iterator[Any]:
    """Expect a KMS error with this code (or one of these codes) and HTTP status.

    `mentions` are strings the error message must contain (for example the
    lowerCamel member name of a ValidationException).
    """
    codes = {code} if isinstance(code, str) else set(code)
    with pytest.raises(ClientError) as info:
        yield info
    got_code, message, got_status = error_of(info.value)
    assert got_code in codes, f"expected {sorted(codes)}, got {got_code}: {message!r}"
    assert got_status == status, f"{got_code} came with HTTP {got_status}, expected {status}"
    for needle in mentions:
        assert needle in message, f"{got_code} message {message!r} does not mention {needle!r}"


def default_policy(account_id: str) -> dict:
    """AWS's default key policy for a key created without one."""
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def key_arn(region: str, account_id: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def alias_arn(region: str, account_id: str, alias_name: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:{alias_name}"


def all_key_rotations(kms, key_id: str, *, include: str | None = None, limit: int | None = None) -> list[dict]:
    """Every ListKeyRotations entry, following NextMarker by hand (the pages'
    own contract is checked where pagination is the subject)."""
    entries: list[dict] = []
    marker = None
    for _ in range(10_000):
        kwargs: dict[str, Any] = {"KeyId": key_id}
        if include is not None:
            kwargs["IncludeKeyMaterial"] = include
        if limit is not None:
            kwargs["Limit"] = limit
        if marker is not None:
            kwargs["Marker"] = marker
        page = kms.list_key_rotations(**kwargs)
        entries += page["Rotations"]
        if not page["Truncated"]:
            return entries
        marker = page["NextMarker"]
    raise AssertionError("ListKeyRotations pagination does not end")


def current_material(kms, key_id: str) -> str:
    """DescribeKey's CurrentKeyMaterialId."""
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]


# -- raw requests -----------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def error_code(self) -> str:
        """The error code the way botocore derives it: `__type` minus any `namespace#`."""
        doc = self.json
        return str(doc.get("__type", "")).rsplit("#", 1)[-1]

    @property
    def error_message(self) -> str:
        doc = self.json
        return str(doc.get("message", doc.get("Message", "")))

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def build_request(
    endpoint: str,
    target: str | None,
    body: bytes,
    *,
    access_key_id: str | None,
    secret_access_key: str | None,
    region: str = "us-east-1",
    service: str = "kms",
    when: dt.datetime | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers for a POST / signed exactly like botocore signs (SigV4).

    `target` is the operation name (`TrentService.` is prepended) or a full
    X-Amz-Target value when it contains a dot. `when` fakes the signing clock.
    With no credentials the request is sent unsigned.
    """
    headers = {"Content-Type": JSON_CONTENT_TYPE}
    if target is not None:
        headers["X-Amz-Target"] = target if "." in target else f"TrentService.{target}"
    headers.update(extra_headers or {})
    request = AWSRequest(method="POST", url=endpoint.rstrip("/") + "/", data=body, headers=headers)
    if access_key_id is not None:
        signer = SigV4Auth(Credentials(access_key_id, secret_access_key), service, region)
        if when is None:
            signer.add_auth(request)
        else:
            with mock.patch("botocore.auth.get_current_datetime", lambda *a, **k: when):
                signer.add_auth(request)
    return dict(request.headers.items()), body


def send_raw(endpoint: str, headers: dict[str, str], body: bytes, timeout: float = 30) -> RawResponse:
    """POST / with exactly these headers and body (Host and Content-Length added)."""
    host_port = endpoint.split("://", 1)[1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        return RawResponse(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


def raw_call(server, target: str | None, payload: Any, **sign_kwargs) -> RawResponse:
    """Sign with the server's credentials (unless overridden) and send."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sign_kwargs.setdefault("access_key_id", server.access_key_id)
    sign_kwargs.setdefault("secret_access_key", server.secret_access_key)
    sign_kwargs.setdefault("region", server.region)
    headers, body = build_request(server.endpoint, target, body, **sign_kwargs)
    return send_raw(server.endpoint, headers, body)


# -- the shapes a leaked secret takes ----------------------------------------


def _b64_cores(secret: bytes, encode) -> list[bytes]:
    """Base64 text of `secret` at each of the 3 alignments it can have inside a
    longer base64 stream, trimmed to the characters that depend only on it."""
    cores = []
    for shift in range(3):
        text = encode(b"\0" * shift + secret).rstrip(b"=")
        first = -(-shift * 8 // 6)  # ceil(shift*8/6)
        last = (shift + len(secret)) * 8 // 6  # exclusive
        core = text[first:last]
        if len(core) >= 8:
            cores.append(core)
    return cores


def secret_forms(secret: bytes) -> dict[str, bytes]:
    """Raw, hex (both cases) and base64 (standard and URL-safe) forms."""
    forms = {
        "raw": secret,
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
    }
    for i, core in enumerate(_b64_cores(secret, base64.b64encode)):
        forms[f"base64@{i}"] = core
    for i, core in enumerate(_b64_cores(secret, base64.urlsafe_b64encode)):
        forms[f"base64url@{i}"] = core
    return forms


def find_secret(haystack: bytes, secret: bytes) -> list[str]:
    """Names of the forms of `secret` that occur in `haystack`."""
    return [name for name, form in secret_forms(secret).items() if form and form in haystack]
