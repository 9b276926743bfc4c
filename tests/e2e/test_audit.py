"""The audit trail (`DATA_DIR/audit`): every KMS, IAM and STS request becomes one
CloudTrail record, written before the answer leaves (fail-closed), in a
hash-chained log with signed digests that `strongroom audit verify` checks
offline; `audit query`/`audit export` read it back; scheduled work appears as
AwsServiceEvents. (CloudTrail's LookupEvents over HTTP: test_lookup_events.py.)

Every test here uses a private server (a few module-scoped ones shared by the
tests that only read their log), so its audit directory holds only the events
the tests caused. The KMS tests set up principals through IAM and STS, whose
events are in the log too: they look at the events whose eventSource is
kms.amazonaws.com; section (8) checks the IAM and STS events.

IAM and STS records follow the IAM user guide's "Logging IAM and AWS STS API
calls with AWS CloudTrail": eventSource iam/sts.amazonaws.com, IAM recorded in
us-east-1 (a global service) and STS in the region of its endpoint, readOnly
for Get*/List* and for STS's calls, requestParameters lowerCamel, the
responseElements of the calls that create something (CreateAccessKey without
its secret; AssumeRole without its session token, a Strongroom choice), IAM's
dates as "Jul 15, 2014 9:40:13 PM", and AssumeRole naming its role in resources.

AWS sources for the record shape: CloudTrail's "record contents" reference and
the KMS developer guide's "Examples of AWS KMS log entries" (ct-*.html), e.g.
ReEncrypt names the source and the destination key in `resources`, RetireGrant
names the grant's key, DeleteKey is an AwsServiceEvent whose userIdentity is
{"accountId", "invokedBy": "AWS Internal"} and whose sourceIPAddress and
userAgent are "AWS Internal".
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_helpers import (
    API_CALL_MEMBERS,
    CLOUDTRAIL_DATE_RE,
    CLOUDTRAIL_SOURCE,
    IAM_SOURCE,
    KMS_SOURCE,
    STS_SOURCE,
    assert_verifies,
    audit_dir,
    check_log_independently,
    cloudtrail_date,
    copy_log,
    event_time,
    events,
    events_of,
    export,
    kms_events,
    line_hash,
    load_public_key,
    parse_event_time,
    poll,
    query,
    query_request,
    run_audit,
    read_lines,
    rewrite_segment,
    segment_content,
    segment_paths,
    tampered,
    the_event,
)
from iam_sts_helpers import allow, client, make_role, make_user, session_client, trust, xml_error
from kms_helpers import (
    DAY_S,
    aws_client,
    build_request,
    default_policy,
    find_secret,
    kms_client,
    send_raw,
    unique,
)
from model_cases import wrap_key_material
from strongroom_server import (
    CLOCK_CONTROL_ARGS,
    StrongroomServer,
    random_access_key_id,
    random_secret_access_key,
)

REGION = "us-east-1"
LOCALHOST = "127.0.0.1"
RAW_USER_AGENT = "strongroom-e2e-audit/1.0"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NOT_CHECKED = object()


def kms_of(srv, **kwargs):
    return kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region, **kwargs)


def root_identity(srv) -> dict:
    return {"type": "Root", "principalId": srv.account_id, "arn": f"arn:aws:iam::{srv.account_id}:root",
            "accountId": srv.account_id, "accessKeyId": srv.access_key_id}


def user_identity(srv, user) -> dict:
    return {"type": "IAMUser", "principalId": user.user_id, "arn": user.arn, "accountId": srv.account_id,
            "accessKeyId": user.access_key_id, "userName": user.name}


def private_server(make_server, name: str, *extra_args: str, **kwargs) -> StrongroomServer:
    srv = make_server(name, access_key_id=random_access_key_id(),
                      secret_access_key=random_secret_access_key(), extra_args=list(extra_args), **kwargs)
    srv.start()
    return srv


def request_id_of(response: dict) -> str:
    return response["ResponseMetadata"]["RequestId"]


class UserAgentTap:
    """Remembers the User-Agent header of the last request a boto3 client (any service) sent."""

    def __init__(self, client_) -> None:
        self.client = client_
        self.last: str | None = None
        client_.meta.events.register("before-send", self._capture)

    def _capture(self, request, **_: Any) -> None:
        value = request.headers.get("User-Agent")
        self.last = value.decode() if isinstance(value, bytes) else value


def _invoke(name: str, tap: UserAgentTap, method: str, error: str | None, kwargs: dict) -> tuple[dict, float, float]:
    """Calls `method` of the tapped client; checks it failed with `error` (or succeeded, when
    None). Returns the response (the error response of a failure) and when the call ran."""
    started = time.time()
    try:
        response, failure = getattr(tap.client, method)(**kwargs), None
    except ClientError as exc:
        response, failure = exc.response, exc
    finished = time.time()
    if error is None:
        assert failure is None, f"{name}: {failure}"
    else:
        assert failure is not None, f"{name} succeeded; expected {error}"
        assert response["Error"]["Code"] == error, f"{name}: {response['Error']}"
    return response, started, finished


# -- (1) one event per request, with the right contents ---------------------------------------


@dataclass
class Case:
    """One request the scenario made and what its audit event must say."""

    request_id: str
    event_name: str
    identity: dict
    read_only: bool
    resources: list[str]
    params: Any = NOT_CHECKED
    error: tuple[str, str] | None = None
    user_agent: str | None = None
    started: float = 0.0
    finished: float = 0.0
    authenticated: bool = True
    region: Any = REGION  # NOT_CHECKED for an unsigned request: it names no region at all


@dataclass
class Scenario:
    srv: StrongroomServer
    cases: dict[str, Case] = field(default_factory=dict)
    session: dict = field(default_factory=dict)


def _run_scenario(srv: StrongroomServer) -> Scenario:
    acct = srv.account_id
    sc = Scenario(srv)
    root = root_identity(srv)
    kms = UserAgentTap(kms_of(srv))
    kms_raw = UserAgentTap(kms_of(srv, validate=False))
    iam = client("iam", srv)

    def call(name: str, tap: UserAgentTap, method: str, *, event_name: str, read_only: bool,
             resources: list[str] | Callable[[dict], list[str]], identity: dict = root,
             params: Any = NOT_CHECKED, error: str | None = None, **kwargs) -> dict:
        assert name not in sc.cases, name
        response, started, finished = _invoke(name, tap, method, error, kwargs)
        sc.cases[name] = Case(
            request_id=request_id_of(response), event_name=event_name, identity=identity,
            read_only=read_only, resources=resources(response) if callable(resources) else resources,
            params=params, error=None if error is None else (error, response["Error"]["Message"]),
            user_agent=tap.last, started=started, finished=finished)
        return response

    created = lambda r: [r["KeyMetadata"]["Arn"]]  # noqa: E731
    a = call("CreateKey", kms, "create_key", event_name="CreateKey", read_only=False, resources=created,
             params={"description": "audit e2e"}, Description="audit e2e")["KeyMetadata"]
    b = call("CreateKey-without-parameters", kms, "create_key", event_name="CreateKey", read_only=False,
             resources=created, params=None)["KeyMetadata"]
    c = call("CreateKey-for-deletion", kms, "create_key", event_name="CreateKey", read_only=False,
             resources=created, Description="deletion")["KeyMetadata"]
    alias = f"alias/{unique('audit')}"
    context = {"purpose": "audit"}
    call("DescribeKey", kms, "describe_key", event_name="DescribeKey", read_only=True, resources=[a["Arn"]],
         params={"keyId": a["KeyId"]}, KeyId=a["KeyId"])
    call("CreateAlias", kms, "create_alias", event_name="CreateAlias", read_only=False, resources=[a["Arn"]],
         params={"aliasName": alias, "targetKeyId": a["KeyId"]}, AliasName=alias, TargetKeyId=a["KeyId"])
    call("DescribeKey-by-alias", kms, "describe_key", event_name="DescribeKey", read_only=True,
         resources=[a["Arn"]], params={"keyId": alias}, KeyId=alias)
    blob = call("Encrypt", kms, "encrypt", event_name="Encrypt", read_only=True, resources=[a["Arn"]],
                params={"keyId": a["KeyId"], "encryptionContext": context},
                KeyId=a["KeyId"], Plaintext=os.urandom(32), EncryptionContext=context)["CiphertextBlob"]
    call("Decrypt", kms, "decrypt", event_name="Decrypt", read_only=True, resources=[a["Arn"]],
         params={"encryptionContext": context}, CiphertextBlob=blob, EncryptionContext=context)
    call("ReEncrypt", kms, "re_encrypt", event_name="ReEncrypt", read_only=True,
         resources=[a["Arn"], b["Arn"]],  # source, then destination (AWS's ct-reencrypt example)
         params={"sourceEncryptionContext": context, "destinationKeyId": b["KeyId"],
                 "destinationEncryptionContext": {"stage": "2"}},
         CiphertextBlob=blob, SourceEncryptionContext=context, DestinationKeyId=b["KeyId"],
         DestinationEncryptionContext={"stage": "2"})
    call("GenerateDataKey", kms, "generate_data_key", event_name="GenerateDataKey", read_only=True,
         resources=[a["Arn"]], params={"keyId": a["KeyId"], "keySpec": "AES_256", "encryptionContext": context},
         KeyId=a["KeyId"], KeySpec="AES_256", EncryptionContext=context)
    call("GenerateDataKeyWithoutPlaintext", kms, "generate_data_key_without_plaintext",
         event_name="GenerateDataKeyWithoutPlaintext", read_only=True, resources=[a["Arn"]],
         params={"keyId": a["KeyId"], "numberOfBytes": 32}, KeyId=a["KeyId"], NumberOfBytes=32)
    call("GenerateRandom", kms, "generate_random", event_name="GenerateRandom", read_only=True, resources=[],
         params={"numberOfBytes": 32}, NumberOfBytes=32)
    call("ListKeys", kms, "list_keys", event_name="ListKeys", read_only=True, resources=[], params=None)
    call("ListAliases", kms, "list_aliases", event_name="ListAliases", read_only=True, resources=[], params=None)
    call("TagResource", kms, "tag_resource", event_name="TagResource", read_only=False, resources=[a["Arn"]],
         # CloudTrail names nested members lowerCamel too (AWS's ct-tagresource example).
         params={"keyId": a["KeyId"], "tags": [{"tagKey": "team", "tagValue": "audit"}]},
         KeyId=a["KeyId"], Tags=[{"TagKey": "team", "TagValue": "audit"}])
    call("ListResourceTags", kms, "list_resource_tags", event_name="ListResourceTags", read_only=True,
         resources=[a["Arn"]], params={"keyId": a["KeyId"]}, KeyId=a["KeyId"])
    call("UntagResource", kms, "untag_resource", event_name="UntagResource", read_only=False,
         resources=[a["Arn"]], params={"keyId": a["KeyId"], "tagKeys": ["team"]}, KeyId=a["KeyId"],
         TagKeys=["team"])
    policy = json.dumps(default_policy(acct))
    call("PutKeyPolicy", kms, "put_key_policy", event_name="PutKeyPolicy", read_only=False, resources=[a["Arn"]],
         params={"keyId": a["KeyId"], "policyName": "default", "policy": policy},
         KeyId=a["KeyId"], PolicyName="default", Policy=policy)
    call("GetKeyPolicy", kms, "get_key_policy", event_name="GetKeyPolicy", read_only=True, resources=[a["Arn"]],
         params={"keyId": a["KeyId"], "policyName": "default"}, KeyId=a["KeyId"], PolicyName="default")
    root_arn = f"arn:aws:iam::{acct}:root"
    grant_args = {"KeyId": a["KeyId"], "GranteePrincipal": root_arn, "RetiringPrincipal": root_arn,
                  "Operations": ["Encrypt", "Decrypt"]}
    grant_params = {"keyId": a["KeyId"], "granteePrincipal": root_arn, "retiringPrincipal": root_arn,
                    "operations": ["Encrypt", "Decrypt"]}
    g1 = call("CreateGrant", kms, "create_grant", event_name="CreateGrant", read_only=False,
              resources=[a["Arn"]], params=grant_params, **grant_args)
    call("ListGrants", kms, "list_grants", event_name="ListGrants", read_only=True, resources=[a["Arn"]],
         params={"keyId": a["KeyId"]}, KeyId=a["KeyId"])
    call("RetireGrant", kms, "retire_grant", event_name="RetireGrant", read_only=False, resources=[a["Arn"]],
         params={"keyId": a["KeyId"], "grantId": g1["GrantId"]}, KeyId=a["KeyId"], GrantId=g1["GrantId"])
    g2 = call("CreateGrant-2", kms, "create_grant", event_name="CreateGrant", read_only=False,
              resources=[a["Arn"]], params=grant_params, **grant_args)
    # By token only: no parameter is recorded (the token is a secret), yet the grant's key is
    # the resource (AWS's ct-retire-grant example: requestParameters null, resources [the key]).
    call("RetireGrant-by-token", kms, "retire_grant", event_name="RetireGrant", read_only=False,
         resources=[a["Arn"]], params=None, GrantToken=g2["GrantToken"])
    g3 = call("CreateGrant-3", kms, "create_grant", event_name="CreateGrant", read_only=False,
              resources=[a["Arn"]], params=grant_params, **grant_args)
    call("RevokeGrant", kms, "revoke_grant", event_name="RevokeGrant", read_only=False, resources=[a["Arn"]],
         params={"keyId": a["KeyId"], "grantId": g3["GrantId"]}, KeyId=a["KeyId"], GrantId=g3["GrantId"])
    call("EnableKeyRotation", kms, "enable_key_rotation", event_name="EnableKeyRotation", read_only=False,
         resources=[a["Arn"]], params={"keyId": a["KeyId"]}, KeyId=a["KeyId"])
    call("GetKeyRotationStatus", kms, "get_key_rotation_status", event_name="GetKeyRotationStatus",
         read_only=True, resources=[a["Arn"]], params={"keyId": a["KeyId"]}, KeyId=a["KeyId"])
    call("UpdateKeyDescription", kms, "update_key_description", event_name="UpdateKeyDescription",
         read_only=False, resources=[a["Arn"]], params={"keyId": a["KeyId"], "description": "changed"},
         KeyId=a["KeyId"], Description="changed")
    call("DisableKey", kms, "disable_key", event_name="DisableKey", read_only=False, resources=[b["Arn"]],
         params={"keyId": b["KeyId"]}, KeyId=b["KeyId"])
    call("Encrypt-DisabledException", kms, "encrypt", event_name="Encrypt", read_only=True,
         resources=[b["Arn"]], params={"keyId": b["KeyId"]}, error="DisabledException",
         KeyId=b["KeyId"], Plaintext=b"disabled")
    call("EnableKey", kms, "enable_key", event_name="EnableKey", read_only=False, resources=[b["Arn"]],
         params={"keyId": b["KeyId"]}, KeyId=b["KeyId"])
    call("ScheduleKeyDeletion", kms, "schedule_key_deletion", event_name="ScheduleKeyDeletion",
         read_only=False, resources=[c["Arn"]], params={"keyId": c["KeyId"], "pendingWindowInDays": 7},
         KeyId=c["KeyId"], PendingWindowInDays=7)
    call("CancelKeyDeletion", kms, "cancel_key_deletion", event_name="CancelKeyDeletion", read_only=False,
         resources=[c["Arn"]], params={"keyId": c["KeyId"]}, KeyId=c["KeyId"])
    # DeleteAlias acts on the alias's key (AWS's ct-deletealias example lists it in resources).
    call("DeleteAlias", kms, "delete_alias", event_name="DeleteAlias", read_only=False, resources=[a["Arn"]],
         params={"aliasName": alias}, AliasName=alias)
    missing = str(uuid.uuid4())
    call("DescribeKey-NotFoundException", kms, "describe_key", event_name="DescribeKey", read_only=True,
         resources=[], params={"keyId": missing}, error="NotFoundException", KeyId=missing)
    call("GenerateRandom-ValidationException", kms_raw, "generate_random", event_name="GenerateRandom",
         read_only=True, resources=[], params={"numberOfBytes": 0}, error="ValidationException", NumberOfBytes=0)

    call("DescribeCustomKeyStores-UnsupportedOperationException", kms, "describe_custom_key_stores",
         event_name="DescribeCustomKeyStores", read_only=True, resources=[], params=None,
         error="UnsupportedOperationException")

    # Imported key material: the token and the wrapped material are never recorded.
    ext = call("CreateKey-EXTERNAL", kms, "create_key", event_name="CreateKey", read_only=False,
               resources=created, params={"origin": "EXTERNAL"}, Origin="EXTERNAL")["KeyMetadata"]
    wrapping = {"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}
    params = call("GetParametersForImport", kms, "get_parameters_for_import", event_name="GetParametersForImport",
                  read_only=True, resources=[ext["Arn"]],
                  params={"keyId": ext["KeyId"], "wrappingAlgorithm": "RSAES_OAEP_SHA_256",
                          "wrappingKeySpec": "RSA_2048"}, KeyId=ext["KeyId"], **wrapping)
    call("ImportKeyMaterial", kms, "import_key_material", event_name="ImportKeyMaterial", read_only=False,
         resources=[ext["Arn"]], params={"keyId": ext["KeyId"], "expirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"},
         KeyId=ext["KeyId"], ImportToken=params["ImportToken"],
         EncryptedKeyMaterial=wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)),
         ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")

    # An IAM user without any policy is denied (the default key policy defers to IAM).
    nobody = make_user(iam, "audit-nobody")
    nobody_kms = UserAgentTap(nobody.client(srv, "kms"))
    call("DescribeKey-AccessDeniedException", nobody_kms, "describe_key", event_name="DescribeKey",
         read_only=True, resources=[a["Arn"]], identity=user_identity(srv, nobody),
         params={"keyId": a["Arn"]}, error="AccessDeniedException", KeyId=a["Arn"])
    call("Encrypt-AccessDeniedException", nobody_kms, "encrypt", event_name="Encrypt", read_only=True,
         resources=[a["Arn"]], identity=user_identity(srv, nobody), params={"keyId": a["Arn"]},
         error="AccessDeniedException", KeyId=a["Arn"], Plaintext=b"denied")

    # A role session.
    assumer = make_user(iam, "audit-assumer", policy=allow("sts:AssumeRole"))
    role = make_role(iam, [assumer.arn], "audit-role")
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="kms",
                        PolicyDocument=json.dumps(allow(["kms:DescribeKey", "kms:Encrypt"])))
    out = assumer.client(srv, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="audit-session")
    creds = out["Credentials"]
    session_arn = out["AssumedRoleUser"]["Arn"]
    sc.session = {"role": role, "arn": session_arn, "credentials": creds}
    session_identity = {
        "type": "AssumedRole", "principalId": f"{role['RoleId']}:audit-session", "arn": session_arn,
        "accountId": acct, "accessKeyId": creds["AccessKeyId"],
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                              "accountId": acct, "userName": role["RoleName"]},
            "attributes": {"creationDate": NOT_CHECKED, "mfaAuthenticated": "false"},
        },
    }
    session_kms = UserAgentTap(session_client(srv, "kms", creds))
    call("DescribeKey-by-a-role-session", session_kms, "describe_key", event_name="DescribeKey",
         read_only=True, resources=[a["Arn"]], identity=session_identity, params={"keyId": a["Arn"]},
         KeyId=a["Arn"])

    # Not authenticated: an access key the server does not know, and no signature at all.
    for name, akid, code in [("DescribeKey-UnrecognizedClientException", random_access_key_id(),
                              "UnrecognizedClientException"),
                             ("DescribeKey-MissingAuthenticationTokenException", None,
                              "MissingAuthenticationTokenException")]:
        started = time.time()
        headers, body = build_request(
            srv.endpoint, "DescribeKey", json.dumps({"KeyId": a["KeyId"]}).encode(), access_key_id=akid,
            secret_access_key=random_secret_access_key() if akid else None, region=REGION,
            extra_headers={"User-Agent": RAW_USER_AGENT})
        resp = send_raw(srv.endpoint, headers, body)
        assert (resp.status, resp.error_code) == (400, code), (resp.status, resp.body)
        identity = {"type": "Unknown", "accessKeyId": akid} if akid else {"type": "Unknown"}
        sc.cases[name] = Case(
            request_id=resp.header("x-amzn-RequestId"), event_name="DescribeKey", identity=identity,
            read_only=True, resources=[], params={"keyId": a["KeyId"]}, error=(code, resp.error_message),
            user_agent=RAW_USER_AGENT, started=started, finished=time.time(), authenticated=False,
            region=REGION if akid else NOT_CHECKED)
    return sc


def _scenario_of(strongroom_bin, tmp_path_factory, name: str, run: Callable[[StrongroomServer], Any]):
    """A module's private server, the scenario `run` makes on it, and the server stopped after."""
    root = tmp_path_factory.mktemp(name)
    # No digest while the scenario runs (the live-log test counts on it).
    srv = StrongroomServer(strongroom_bin, root / "data", root / "logs", access_key_id=random_access_key_id(),
                           secret_access_key=random_secret_access_key(),
                           extra_args=["--audit-digest-interval", "3600"])
    srv.start()
    try:
        yield run(srv)
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def scenario(strongroom_bin, tmp_path_factory):
    yield from _scenario_of(strongroom_bin, tmp_path_factory, "audit-ops", _run_scenario)


SCENARIO_CASES = [
    "CreateKey", "CreateKey-without-parameters", "CreateKey-for-deletion", "DescribeKey", "CreateAlias",
    "DescribeKey-by-alias", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "ListKeys", "ListAliases", "TagResource",
    "ListResourceTags", "UntagResource", "PutKeyPolicy", "GetKeyPolicy", "CreateGrant", "ListGrants",
    "RetireGrant", "CreateGrant-2", "RetireGrant-by-token", "CreateGrant-3", "RevokeGrant",
    "EnableKeyRotation", "GetKeyRotationStatus", "UpdateKeyDescription", "DisableKey",
    "Encrypt-DisabledException", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "DeleteAlias",
    "DescribeKey-NotFoundException", "GenerateRandom-ValidationException",
    "DescribeCustomKeyStores-UnsupportedOperationException", "CreateKey-EXTERNAL",
    "GetParametersForImport", "ImportKeyMaterial", "DescribeKey-AccessDeniedException",
    "Encrypt-AccessDeniedException", "DescribeKey-by-a-role-session",
    "DescribeKey-UnrecognizedClientException", "DescribeKey-MissingAuthenticationTokenException",
]


def _identity_matches(expected: Any, actual: Any) -> bool:
    if expected is NOT_CHECKED:
        return True
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and list(expected) == list(actual)
                and all(_identity_matches(v, actual[k]) for k, v in expected.items()))
    return expected == actual


def _without_unchecked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_unchecked(v) for k, v in value.items() if v is not NOT_CHECKED}
    return value


class EventCheck:
    """Collects every way an event differs from what a case expects, to report them at once."""

    def __init__(self, event: dict) -> None:
        self.event = event
        self.problems: list[str] = []

    def expect(self, what: str, want: Any, got: Any = NOT_CHECKED) -> None:
        got = self.event.get(what) if got is NOT_CHECKED else got
        if want != got:
            self.problems.append(f"{what}: expected {want!r}, got {got!r}")

    def common(self, case: Any) -> None:
        """What every API call's record says the same way, whatever the service: the error,
        the caller, CloudTrail's fixed members, where the request came from, its ids, its time
        and CloudTrail's member order."""
        event = self.event
        self.expect("eventName", case.event_name)
        self.expect("errorCode", case.error[0] if case.error else None)
        self.expect("errorMessage", case.error[1] if case.error else None)
        self.expect("readOnly", case.read_only)
        if not _identity_matches(case.identity, event.get("userIdentity")):
            self.problems.append(f"userIdentity: expected {_without_unchecked(case.identity)!r}, "
                                 f"got {event.get('userIdentity')!r}")
        self.expect("eventVersion", "1.08")
        self.expect("eventType", "AwsApiCall")
        self.expect("managementEvent", True)
        self.expect("eventCategory", "Management")
        self.expect("sourceIPAddress", LOCALHOST)
        self.expect("userAgent", case.user_agent)
        if not UUID_RE.match(str(event.get("eventID"))):
            self.problems.append(f"eventID {event.get('eventID')!r} is not a UUID")
        self.expect("eventID differs from requestID", True, event.get("eventID") != case.request_id)
        when = parse_event_time(event["eventTime"])
        if not int(case.started) <= when <= case.finished + 1:
            self.problems.append(f"eventTime {event['eventTime']} outside the request's "
                                 f"{event_time(case.started)}..{event_time(case.finished)}")
        members = [m for m in API_CALL_MEMBERS if case.error or m not in ("errorCode", "errorMessage")]
        self.expect("members, in CloudTrail's order", members, list(event))

    def assert_none(self, name: str, request_id: str) -> None:
        assert not self.problems, f"{name} (requestID {request_id}):\n  " + "\n  ".join(self.problems)


@pytest.mark.parametrize("name", SCENARIO_CASES)
def test_each_request_is_one_event_carrying_its_request_id(scenario, name):
    srv, case = scenario.srv, scenario.cases[name]
    acct = srv.account_id
    check = EventCheck(the_event(audit_dir(srv), case.request_id))
    check.common(case)
    check.expect("resources", [{"accountId": acct, "type": "AWS::KMS::Key", "ARN": arn} for arn in case.resources])
    check.expect("eventSource", KMS_SOURCE)
    check.expect("responseElements", None)
    if case.authenticated:
        check.expect("recipientAccountId", acct)
    # The region the request was signed for (its credential scope), also for an access key the
    # server does not know: the scope names it, and CloudTrail has no event without an awsRegion.
    if case.region is not NOT_CHECKED:
        check.expect("awsRegion", case.region)
    if case.params is not NOT_CHECKED:
        check.expect("requestParameters", case.params)
    check.assert_none(name, case.request_id)


def test_the_log_holds_exactly_the_kms_requests_made(scenario):
    """One event per request and nothing else: no duplicates, no event without a request."""
    logged = kms_events(audit_dir(scenario.srv))
    ids = [e.get("requestID") for e in logged]
    made = [c.request_id for c in scenario.cases.values()]
    assert len(set(made)) == len(made) == len(SCENARIO_CASES)
    assert sorted(ids) == sorted(made)
    event_ids = [e["eventID"] for e in logged]
    assert len(set(event_ids)) == len(event_ids), "eventIDs repeat"
    assert not set(event_ids) & set(ids), "an eventID equals a requestID"
    # Log order is the order the requests were answered (they were sequential).
    by_id = {c.request_id: n for n, c in scenario.cases.items()}
    assert [by_id[i] for i in ids] == list(scenario.cases)


def test_the_live_log_is_a_verifiable_chain_of_events(scenario, strongroom_bin):
    """While the server runs (its digest interval is an hour, so no digest yet), the log verifies
    with its events reported as not yet covered, and --require-sealed refuses it."""
    directory = audit_dir(scenario.srv)
    lines = read_lines(directory)
    summary = check_log_independently(directory, load_public_key(directory / "public-key"))
    assert summary["sealed"] is False and summary["digests"] == 0, summary
    out = assert_verifies(strongroom_bin, directory)
    assert f"OK: {len(lines)} events, 0 digests in 1 segments; last seq {len(lines)}, head {summary['head']}" \
        in out, out
    assert f"not yet covered by a digest: {len(lines)} events, seq 1 to {len(lines)}" in out, out
    finding = tampered(strongroom_bin, directory, "--require-sealed")
    assert (finding["segment"], finding["line"], finding["seq"]) == (
        "segment-00000001.jsonl", len(lines), len(lines)), finding
    assert f"{len(lines)} records from seq 1 are not covered by a digest" in finding["problem"], finding


def test_each_answer_is_on_disk_before_it_arrives(make_server):
    """Fail-closed (the default): the event is written and synced before the response leaves, so
    reading the log right after each answer, with no wait, finds it."""
    srv = private_server(make_server, "durable")
    kms = kms_of(srv)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for i in range(20):
        rid = request_id_of(kms.encrypt(KeyId=key, Plaintext=b"%d" % i))
        assert the_event(audit_dir(srv), rid)["eventName"] == "Encrypt"


# -- (2) no secret reaches the audit directory ---------------------------------------------------


def _scan_audit_dir(directory: Path, secrets: dict[str, bytes]) -> list[str]:
    files = [p for p in sorted(directory.rglob("*")) if p.is_file()]
    assert {p.name for p in files} >= {"public-key", "signing-key", "segment-00000001.jsonl"}, files
    leaks = []
    for path in files:
        data = path.read_bytes()
        for label, secret in secrets.items():
            for form in find_secret(data, secret):
                leaks.append(f"{label} ({form}) in {path.name}")
    return leaks


def test_no_plaintext_key_material_token_or_credential_reaches_the_audit_directory(make_server):
    srv = private_server(make_server, "secrets")
    kms = kms_of(srv)
    iam = client("iam", srv)
    secrets: dict[str, bytes] = {"root secret access key": srv.secret_access_key.encode()}
    request_ids: list[str] = []

    def note(resp: dict) -> dict:
        request_ids.append(request_id_of(resp))
        return resp

    def failing(code: str, fn, **kwargs) -> None:
        with pytest.raises(ClientError) as info:
            fn(**kwargs)
        assert info.value.response["Error"]["Code"] == code, info.value.response["Error"]
        request_ids.append(request_id_of(info.value.response))

    key = note(kms.create_key(Description="secrets"))["KeyMetadata"]
    other = note(kms.create_key())["KeyMetadata"]
    context = {"case": "secrets"}
    plaintext = secrets["Encrypt plaintext"] = os.urandom(48)
    enc = note(kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext, EncryptionContext=context))
    secrets["Encrypt ciphertext"] = enc["CiphertextBlob"]
    assert note(kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=context))["Plaintext"] == plaintext
    moved = note(kms.re_encrypt(CiphertextBlob=enc["CiphertextBlob"], SourceEncryptionContext=context,
                                DestinationKeyId=other["KeyId"]))["CiphertextBlob"]
    secrets["ReEncrypt ciphertext"] = moved
    assert note(kms.decrypt(CiphertextBlob=moved))["Plaintext"] == plaintext
    for spec in ("AES_256", "AES_128"):
        dk = note(kms.generate_data_key(KeyId=key["KeyId"], KeySpec=spec))
        secrets[f"data key {spec}"] = dk["Plaintext"]
        secrets[f"data key {spec} ciphertext"] = dk["CiphertextBlob"]
    dk = note(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=64))
    secrets["data key of 64 bytes"] = dk["Plaintext"]
    wrapped = note(kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256"))
    secrets["data key without plaintext"] = note(kms.decrypt(CiphertextBlob=wrapped["CiphertextBlob"]))["Plaintext"]
    secrets["random bytes"] = note(kms.generate_random(NumberOfBytes=48))["Plaintext"]

    # Failure paths carrying secrets.
    secrets["plaintext to a missing key"] = os.urandom(32)
    failing("NotFoundException", kms.encrypt, KeyId=str(uuid.uuid4()), Plaintext=secrets["plaintext to a missing key"])
    note(kms.disable_key(KeyId=other["KeyId"]))
    secrets["plaintext to a disabled key"] = os.urandom(32)
    failing("DisabledException", kms.encrypt, KeyId=other["KeyId"], Plaintext=secrets["plaintext to a disabled key"])
    forged = bytearray(enc["CiphertextBlob"])
    forged[-1] ^= 1
    secrets["forged ciphertext"] = bytes(forged)
    failing("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bytes(forged), EncryptionContext=context)

    # Grants: the token never appears, neither when used nor when retired.
    grant = note(kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{srv.account_id}:root",
                                  Operations=["Encrypt"]))
    secrets["grant token"] = grant["GrantToken"].encode()
    secrets["plaintext with a grant token"] = os.urandom(32)
    note(kms.encrypt(KeyId=key["KeyId"], Plaintext=secrets["plaintext with a grant token"],
                     GrantTokens=[grant["GrantToken"]]))
    note(kms.retire_grant(GrantToken=grant["GrantToken"]))

    # Imported key material, its import token and its wrapped form.
    ext = note(kms.create_key(Origin="EXTERNAL"))["KeyMetadata"]
    material = secrets["imported key material"] = os.urandom(32)
    params = note(kms.get_parameters_for_import(KeyId=ext["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                WrappingKeySpec="RSA_2048"))
    secrets["import token"] = params["ImportToken"]
    secrets["wrapped key material"] = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material)
    note(kms.import_key_material(KeyId=ext["KeyId"], ImportToken=params["ImportToken"],
                                 EncryptedKeyMaterial=secrets["wrapped key material"],
                                 ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"))
    secrets["plaintext under imported material"] = os.urandom(32)
    note(kms.encrypt(KeyId=ext["KeyId"], Plaintext=secrets["plaintext under imported material"]))

    # Other principals' credentials: an IAM user (denied) and a role session (allowed).
    user = make_user(iam, "audit-secret-user")
    secrets["IAM user secret access key"] = user.secret_access_key.encode()
    secrets["plaintext of a denied user"] = os.urandom(32)
    failing("AccessDeniedException", user.client(srv, "kms").encrypt, KeyId=key["Arn"],
            Plaintext=secrets["plaintext of a denied user"])
    assumer = make_user(iam, "audit-secret-assumer", policy=allow("sts:AssumeRole"))
    role = make_role(iam, [assumer.arn], "audit-secret-role")
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="kms", PolicyDocument=json.dumps(allow("kms:Encrypt")))
    creds = assumer.client(srv, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="audit-secrets")["Credentials"]
    secrets["session secret access key"] = creds["SecretAccessKey"].encode()
    secrets["session token"] = creds["SessionToken"].encode()
    secrets["plaintext of a session"] = os.urandom(32)
    note(session_client(srv, "kms", creds).encrypt(KeyId=key["Arn"], Plaintext=secrets["plaintext of a session"]))

    # Unauthenticated and malformed requests carrying a plaintext.
    for label, akid in [("plaintext with an unknown access key", random_access_key_id()),
                        ("plaintext of an unsigned request", None)]:
        secrets[label] = os.urandom(32)
        body = json.dumps({"KeyId": key["KeyId"], "Plaintext": base64.b64encode(secrets[label]).decode()}).encode()
        secret_key = random_secret_access_key() if akid else None
        if secret_key:
            secrets[f"secret key of {label}"] = secret_key.encode()
        headers, body = build_request(srv.endpoint, "Encrypt", body, access_key_id=akid,
                                      secret_access_key=secret_key, region=REGION)
        resp = send_raw(srv.endpoint, headers, body)
        assert resp.status == 400, resp.body
        request_ids.append(resp.header("x-amzn-RequestId"))
    secrets["plaintext in a malformed body"] = os.urandom(32)
    body = ('{"KeyId": "%s", "Plaintext": "%s", ' % (
        key["KeyId"], base64.b64encode(secrets["plaintext in a malformed body"]).decode())).encode()
    headers, body = build_request(srv.endpoint, "Encrypt", body, access_key_id=srv.access_key_id,
                                  secret_access_key=srv.secret_access_key, region=REGION)
    resp = send_raw(srv.endpoint, headers, body)
    assert (resp.status, resp.error_code) == (400, "SerializationException"), resp.body
    request_ids.append(resp.header("x-amzn-RequestId"))
    secrets["plaintext over 4096 bytes"] = os.urandom(4097)
    failing("ValidationException", kms_of(srv, validate=False).encrypt, KeyId=key["KeyId"],
            Plaintext=secrets["plaintext over 4096 bytes"])

    assert srv.stop() == 0
    directory = audit_dir(srv)
    # The scan is not vacuous: every one of those requests is in the files scanned.
    logged = {e.get("requestID") for e in kms_events(directory)}
    assert set(request_ids) <= logged, set(request_ids) - logged
    leaks = _scan_audit_dir(directory, secrets)
    assert not leaks, "secrets in the audit directory:\n" + "\n".join(leaks)
    assert (directory / "signing-key").stat().st_mode & 0o777 == 0o600


# -- (3) the verifier ------------------------------------------------------------------------

SEALED_EVENTS = 10
SEGMENT_1 = "segment-00000001.jsonl"


@pytest.fixture(scope="module")
def sealed_log(strongroom_bin, tmp_path_factory) -> Path:
    """A log of SEALED_EVENTS events closed by SIGTERM: lines 1..10 are events, line 11 the
    final digest (the default 60 s digest interval writes none before)."""
    root = tmp_path_factory.mktemp("audit-sealed")
    srv = StrongroomServer(strongroom_bin, root / "data", root / "logs", access_key_id=random_access_key_id(),
                           secret_access_key=random_secret_access_key(),
                           extra_args=["--audit-digest-interval", "3600"])
    srv.start()
    try:
        kms = kms_of(srv)
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        for i in range(SEALED_EVENTS - 1):
            kms.encrypt(KeyId=key, Plaintext=b"sealed %d" % i)
    finally:
        assert srv.stop() == 0
    lines = read_lines(audit_dir(srv))
    assert [ln.is_event for ln in lines] == [True] * SEALED_EVENTS + [False], "unexpected log layout"
    return audit_dir(srv)


def test_a_closed_log_verifies_and_is_sealed(sealed_log, strongroom_bin):
    summary = check_log_independently(sealed_log, load_public_key(sealed_log / "public-key"))
    assert summary == {"records": SEALED_EVENTS + 1, "events": SEALED_EVENTS, "digests": 1, "segments": 1,
                       "sealed": True, "head": summary["head"]}
    out = assert_verifies(strongroom_bin, sealed_log)
    assert out.splitlines()[0] == (f"OK: {SEALED_EVENTS} events, 1 digests in 1 segments; "
                                   f"last seq {SEALED_EVENTS + 1}, head {summary['head']}"), out
    assert "not yet covered" not in out
    assert_verifies(strongroom_bin, sealed_log, "--require-sealed")
    pinned = sealed_log.parent / "pinned-public-key"
    shutil.copy(sealed_log / "public-key", pinned)
    assert_verifies(strongroom_bin, sealed_log, "--require-sealed", "--public-key", str(pinned))
    # The digest line as documented: it covers seq 1..10 and signs the chain head.
    digest = read_lines(sealed_log)[-1].record["digest"]
    assert (digest["firstSeq"], digest["lastSeq"], digest["count"], digest["previousDigest"]) == (
        1, SEALED_EVENTS, SEALED_EVENTS, None)


def _edit_line(n: int, old: bytes, new: bytes):
    def edit(lines: list[bytes]) -> list[bytes]:
        assert old in lines[n - 1], lines[n - 1][:300]
        lines[n - 1] = lines[n - 1].replace(old, new, 1)
        return lines
    return edit


def _rechain_after_edit(lines: list[bytes]) -> list[bytes]:
    """Edit line 3 and recompute every later `prev` so the chain is consistent again: only the
    signed digest can tell."""
    lines[2] = lines[2].replace(b'"sourceIPAddress":"127.0.0.1"', b'"sourceIPAddress":"10.9.8.7"', 1)
    for i in range(3, len(lines)):
        record = json.loads(lines[i])
        old = f'"prev":"{record["prev"]}"'.encode()
        lines[i] = lines[i].replace(old, f'"prev":"{line_hash(lines[i - 1])}"'.encode(), 1)
    return lines


def _digest_count(lines: list[bytes]) -> list[bytes]:
    return _edit_line(SEALED_EVENTS + 1, b'"count":%d' % SEALED_EVENTS, b'"count":%d' % (SEALED_EVENTS - 1))(lines)


def _truncate_file_in_line(n: int):
    def cut(path: Path) -> None:
        data = path.read_bytes()
        lines = data.split(b"\n")
        keep = b"\n".join(lines[: n - 1]) + b"\n" + lines[n - 1][: len(lines[n - 1]) // 2]
        path.write_bytes(keep)
    return cut


def _segment_edit(edit):
    return lambda path: rewrite_segment(path, edit)


# name -> (how to tamper with segment-00000001.jsonl, expected (line, seq or None), problem words)
TAMPERINGS = {
    "edit-a-field-of-event-3": (_segment_edit(_edit_line(3, b'"sourceIPAddress":"127.0.0.1"',
                                                         b'"sourceIPAddress":"10.9.8.7"')), (3, 3), "changed"),
    "edit-the-last-event-before-the-digest": (_segment_edit(_edit_line(SEALED_EVENTS, b'"readOnly":true',
                                                                      b'"readOnly":false')),
                                              (SEALED_EVENTS, SEALED_EVENTS), "changed"),
    "delete-line-3": (_segment_edit(lambda ls: ls[:2] + ls[3:]), (3, 4), "missing"),
    "insert-a-copy-of-line-3": (_segment_edit(lambda ls: ls[:3] + [ls[2]] + ls[3:]), (4, 3), "inserted"),
    "swap-lines-3-and-4": (_segment_edit(lambda ls: ls[:2] + [ls[3], ls[2]] + ls[4:]), (3, 4), "seq"),
    "truncate-the-last-line-mid-way": (_truncate_file_in_line(SEALED_EVENTS + 1), (SEALED_EVENTS + 1, None),
                                       "no newline"),
    "truncate-the-file-inside-line-5": (_truncate_file_in_line(5), (5, None), "no newline"),
    "edit-the-digest": (_segment_edit(_digest_count), (SEALED_EVENTS + 1, SEALED_EVENTS + 1), "signature"),
    "delete-the-first-line": (_segment_edit(lambda ls: ls[1:]), (1, 2), "missing"),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampering_is_detected_at_the_first_bad_record(sealed_log, strongroom_bin, tmp_path, name):
    tamper, (line, seq), words = TAMPERINGS[name]
    copy = copy_log(sealed_log, tmp_path / "copy")
    tamper(copy / SEGMENT_1)
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"], finding["seq"]) == (SEGMENT_1, line, seq), finding["output"]
    assert words in finding["problem"], finding["output"]
    # The untouched original still verifies.
    assert_verifies(strongroom_bin, sealed_log, "--require-sealed")


def test_a_rewritten_chain_is_caught_by_the_signed_digest(sealed_log, strongroom_bin, tmp_path):
    copy = copy_log(sealed_log, tmp_path / "copy")
    rewrite_segment(copy / SEGMENT_1, _rechain_after_edit)
    finding = tampered(strongroom_bin, copy)
    # The chain is consistent up to the digest, whose signed head no longer matches: the
    # verifier can only name the last record it covers.
    assert (finding["segment"], finding["line"], finding["seq"]) == (SEGMENT_1, SEALED_EVENTS, SEALED_EVENTS), \
        finding["output"]
    assert "changed" in finding["problem"], finding["output"]


def test_a_replaced_public_key_is_detected_and_a_pinned_copy_still_verifies(sealed_log, strongroom_bin, tmp_path):
    pinned = tmp_path / "pinned.pem"
    shutil.copy(sealed_log / "public-key", pinned)
    copy = copy_log(sealed_log, tmp_path / "copy")
    impostor = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (copy / "public-key").write_bytes(impostor)
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"], finding["seq"]) == (
        SEGMENT_1, SEALED_EVENTS + 1, SEALED_EVENTS + 1), finding["output"]
    assert "signing key" in finding["problem"], finding["output"]
    # Verifying with the operator's own copy of the key ignores the replaced file.
    assert_verifies(strongroom_bin, copy, "--require-sealed", "--public-key", str(pinned))
    # And a wrong pinned key fails the original.
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(impostor)
    assert tampered(strongroom_bin, sealed_log, "--public-key", str(wrong))["line"] == SEALED_EVENTS + 1


def test_dropping_the_final_digest_is_caught_by_require_sealed(sealed_log, strongroom_bin, tmp_path):
    """Truncation at a record boundary leaves a valid chain (documented); a log known to be
    closed must end with a digest."""
    copy = copy_log(sealed_log, tmp_path / "copy")
    rewrite_segment(copy / SEGMENT_1, lambda ls: ls[:-1])
    out = assert_verifies(strongroom_bin, copy)
    assert f"not yet covered by a digest: {SEALED_EVENTS} events, seq 1 to {SEALED_EVENTS}" in out, out
    finding = tampered(strongroom_bin, copy, "--require-sealed")
    assert (finding["segment"], finding["line"], finding["seq"]) == (SEGMENT_1, SEALED_EVENTS, SEALED_EVENTS)
    assert "not covered by a digest" in finding["problem"], finding["output"]


def test_a_file_named_like_a_segment_is_reported(sealed_log, strongroom_bin, tmp_path):
    copy = copy_log(sealed_log, tmp_path / "copy")
    shutil.copy(copy / SEGMENT_1, copy / "segment-2.jsonl")
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"], finding["seq"]) == ("segment-2.jsonl", 0, None), finding["output"]


# Multi-segment logs: --audit-segment-mib 1 and ~32 KB key policies fill a segment in ~33 requests.
SEGMENT_BYTES = 1024 * 1024


@pytest.fixture(scope="module")
def segmented_log(strongroom_bin, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audit-segments")
    srv = StrongroomServer(strongroom_bin, root / "data", root / "logs", access_key_id=random_access_key_id(),
                           secret_access_key=random_secret_access_key(), extra_args=["--audit-segment-mib", "1"])
    srv.start()
    try:
        kms = kms_of(srv)
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        policy = json.dumps(default_policy(srv.account_id))
        padded = policy[:-1] + " " * (32_000 - len(policy)) + "}"
        for _ in range(200):
            kms.put_key_policy(KeyId=key, PolicyName="default", Policy=padded)
            if len(segment_paths(audit_dir(srv))) >= 4:
                break
        for _ in range(3):
            kms.describe_key(KeyId=key)
    finally:
        assert srv.stop() == 0
    assert len(segment_paths(audit_dir(srv))) == 4, segment_paths(audit_dir(srv))
    return audit_dir(srv)


def test_segments_roll_over_at_the_configured_size_and_chain_across(segmented_log, strongroom_bin):
    summary = check_log_independently(segmented_log, load_public_key(segmented_log / "public-key"))
    assert summary["segments"] == 4 and summary["sealed"], summary
    out = assert_verifies(strongroom_bin, segmented_log, "--require-sealed")
    assert f"OK: {summary['events']} events, {summary['digests']} digests in 4 segments" in out, out
    lines = read_lines(segmented_log)
    for path in segment_paths(segmented_log)[:-1]:
        mine = [ln for ln in lines if ln.segment == path.name]
        assert path.stat().st_size == sum(len(ln.raw) + 1 for ln in mine)
        # Closed by the event line that crossed 1 MiB, followed by its digest.
        assert mine[-1].is_digest and mine[-2].is_event, path.name
        before_last_event = sum(len(ln.raw) + 1 for ln in mine[:-2])
        assert before_last_event < SEGMENT_BYTES <= before_last_event + len(mine[-2].raw) + 1, path.name


def _renumber(directory: Path) -> None:
    for n, path in enumerate(segment_paths(directory), start=1):
        path.rename(directory / f"segment-{n:08d}.jsonl")


def test_a_deleted_middle_segment_is_detected(segmented_log, strongroom_bin, tmp_path):
    copy = copy_log(segmented_log, tmp_path / "copy")
    (copy / "segment-00000002.jsonl").unlink()
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"], finding["seq"]) == ("segment-00000003.jsonl", 0, None), \
        finding["output"]
    assert "segment-00000002.jsonl is missing" in finding["problem"], finding["output"]

    # Renumbering the later segments to hide the gap does not help: the seq jumps.
    first_of_third = read_lines(copy)  # segments 1, 3, 4 as they are
    expected_seq = [ln for ln in first_of_third if ln.segment == "segment-00000003.jsonl"][0].record["seq"]
    _renumber(copy)
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"], finding["seq"]) == ("segment-00000002.jsonl", 1, expected_seq), \
        finding["output"]
    assert "missing" in finding["problem"], finding["output"]


def test_a_deleted_leading_segment_is_detected(segmented_log, strongroom_bin, tmp_path):
    copy = copy_log(segmented_log, tmp_path / "copy")
    (copy / SEGMENT_1).unlink()
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"]) == ("segment-00000002.jsonl", 0), finding["output"]
    assert "segment-00000001.jsonl is missing" in finding["problem"], finding["output"]


def test_a_segment_cut_before_its_digest_is_detected(segmented_log, strongroom_bin, tmp_path):
    copy = copy_log(segmented_log, tmp_path / "copy")
    rewrite_segment(copy / SEGMENT_1, lambda ls: ls[:-1])
    kept = [ln for ln in read_lines(copy) if ln.segment == SEGMENT_1]
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"], finding["seq"]) == (
        SEGMENT_1, len(kept), kept[-1].record["seq"]), finding["output"]
    assert "does not end with a digest" in finding["problem"], finding["output"]


# -- (4) a crash under load loses no answered request --------------------------------------

LOAD_THREADS = 6
ANSWERS_BEFORE_KILL = 600


def _trim_torn_tail(directory: Path) -> bool:
    """Drop an incomplete last line of the last segment (a write the kill interrupted, never
    answered). Returns whether there was one."""
    last = segment_paths(directory)[-1]
    data = last.read_bytes()
    if data.endswith(b"\n") or not data:
        return False
    last.write_bytes(data[: data.rfind(b"\n") + 1])
    return True


def test_sigkill_under_load_keeps_every_answered_event(make_server, strongroom_bin, tmp_path):
    srv = private_server(make_server, "crash", "--audit-digest-interval", "3600")
    key = kms_of(srv).create_key()["KeyMetadata"]["KeyId"]
    answered: list[str] = []
    errors_after_kill: list[str] = []
    unexpected: list[str] = []
    lock = threading.Lock()
    killing = threading.Event()

    def load(index: int) -> None:
        kms = kms_of(srv)
        n = 0
        while True:
            try:
                resp = kms.encrypt(KeyId=key, Plaintext=b"crash %d %d" % (index, n))
            except Exception as exc:  # noqa: BLE001 - connection errors once the server is gone
                with lock:
                    (errors_after_kill if killing.is_set() else unexpected).append(repr(exc))
                return
            assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
            with lock:
                answered.append(request_id_of(resp))
            n += 1

    threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(LOAD_THREADS)]
    for t in threads:
        t.start()
    # Kill once the load has produced enough answers (a second or two): mid-load, by design.
    poll(lambda: len(answered) >= ANSWERS_BEFORE_KILL or unexpected, 30, "the load to get going", interval=0.02)
    killing.set()
    srv.kill()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not unexpected, unexpected
    assert len(errors_after_kill) == LOAD_THREADS, "the kill did not interrupt every load thread"
    assert len(answered) >= ANSWERS_BEFORE_KILL

    directory = audit_dir(srv)
    logged = [e.get("requestID") for e in events(directory, allow_torn_tail=True)]
    assert len(logged) == len(set(logged))
    missing = set(answered) - set(logged)
    assert not missing, f"{len(missing)} answered requests are not in the audit log, e.g. {sorted(missing)[:3]}"
    # `audit query` reads the crashed log as it is (a torn tail is skipped).
    queried = [e["requestID"] for e in query(strongroom_bin, directory, "--event-name", "Encrypt")]
    assert queried == [i for i in logged if i != logged[0]] and set(answered) <= set(queried)

    # What the crash left verifies (a torn last line, if any, dropped): not sealed, though.
    copy = copy_log(directory, tmp_path / "after-kill")
    _trim_torn_tail(copy)
    out = assert_verifies(strongroom_bin, copy)
    assert "not yet covered by a digest" in out, out
    assert "not covered by a digest" in tampered(strongroom_bin, copy, "--require-sealed")["problem"]

    # Restarting repairs the tail, seals what the crash left and continues in a new segment.
    srv.start()
    assert_verifies(strongroom_bin, directory, "--require-sealed")
    reopened = read_lines(directory)
    assert reopened[-1].is_digest and reopened[-1].segment == SEGMENT_1, "the crashed segment is not sealed"
    assert [ln.segment for ln in reopened if ln.is_digest] == [SEGMENT_1]
    after = request_id_of(kms_of(srv).encrypt(KeyId=key, Plaintext=b"after restart"))
    assert [p.name for p in segment_paths(directory)] == [SEGMENT_1, "segment-00000002.jsonl"]
    assert_verifies(strongroom_bin, directory)
    assert srv.stop() == 0
    assert_verifies(strongroom_bin, directory, "--require-sealed")
    lines = read_lines(directory)
    assert [ln.segment for ln in lines if ln.is_event and ln.record["event"].get("requestID") == after] == [
        "segment-00000002.jsonl"]
    still = {ln.record["event"].get("requestID") for ln in lines if ln.is_event}
    assert set(answered) <= still
    check_log_independently(directory, load_public_key(directory / "public-key"))


# -- (5) query and export --------------------------------------------------------------------



@dataclass
class Made:
    request_id: str
    name: str
    principal: str
    key: str | None
    error: str | None
    phase: int


def test_query_and_export_filters(make_server, strongroom_bin):
    """Two phases ten days apart on the server's (test) clock, by root and by an IAM user, on
    two keys, with successes and failures; every filter returns exactly the expected events,
    oldest first, and export wraps the same events in {"Records": [...]}."""
    srv = private_server(make_server, "query", *CLOCK_CONTROL_ARGS)
    root_arn = f"arn:aws:iam::{srv.account_id}:root"
    kms = kms_of(srv)
    user = make_user(client("iam", srv), "audit-query", policy=allow(["kms:Encrypt", "kms:DescribeKey"]))
    ukms = user.client(srv, "kms")
    made: list[Made] = []

    def do(name, principal, key_arn, phase, fn, expect_error=None, **kwargs) -> dict:
        try:
            resp, code = fn(**kwargs), None
        except ClientError as exc:
            resp, code = exc.response, exc.response["Error"]["Code"]
        assert code == expect_error, (name, code)
        made.append(Made(request_id_of(resp), name, principal, key_arn, code, phase))
        return resp

    a = do("CreateKey", root_arn, None, 1, kms.create_key)["KeyMetadata"]
    made[-1].key = a["Arn"]
    b = do("CreateKey", root_arn, None, 1, kms.create_key)["KeyMetadata"]
    made[-1].key = b["Arn"]
    blob = do("Encrypt", root_arn, a["Arn"], 1, kms.encrypt, KeyId=a["KeyId"], Plaintext=b"q")["CiphertextBlob"]
    do("Decrypt", root_arn, a["Arn"], 1, kms.decrypt, CiphertextBlob=blob)
    do("DescribeKey", root_arn, b["Arn"], 1, kms.describe_key, KeyId=b["KeyId"])
    do("GenerateRandom", root_arn, None, 1, kms.generate_random, NumberOfBytes=8)
    do("DescribeKey", root_arn, None, 1, kms.describe_key, "NotFoundException", KeyId=str(uuid.uuid4()))
    do("Encrypt", user.arn, a["Arn"], 1, ukms.encrypt, KeyId=a["Arn"], Plaintext=b"u")
    do("DescribeKey", user.arn, b["Arn"], 1, ukms.describe_key, KeyId=b["Arn"])
    do("Decrypt", user.arn, a["Arn"], 1, ukms.decrypt, "AccessDeniedException", CiphertextBlob=blob)
    phase1_end = srv.clock_now()
    srv.advance_clock(10 * DAY_S)
    do("Encrypt", root_arn, a["Arn"], 2, kms.encrypt, KeyId=a["KeyId"], Plaintext=b"q2")
    do("Encrypt", user.arn, a["Arn"], 2, ukms.encrypt, KeyId=a["Arn"], Plaintext=b"u2")
    do("ListKeys", root_arn, None, 2, kms.list_keys)
    do("Encrypt", user.arn, b["Arn"], 2, ukms.encrypt, KeyId=b["Arn"], Plaintext=b"u3")
    do("GenerateDataKey", user.arn, a["Arn"], 2, ukms.generate_data_key, "AccessDeniedException",
       KeyId=a["Arn"], KeySpec="AES_256")

    directory = audit_dir(srv)
    everything = kms_events(directory)
    assert [e["requestID"] for e in everything] == [m.request_id for m in made]
    # Setting up the user took three IAM calls by root, in the log too (and nothing else is).
    others = [e for e in events(directory) if e["eventSource"] != KMS_SOURCE]
    assert [(e["eventSource"], e["eventName"]) for e in others] == [
        ("iam.amazonaws.com", "CreateUser"), ("iam.amazonaws.com", "PutUserPolicy"),
        ("iam.amazonaws.com", "CreateAccessKey")], others
    assert query(strongroom_bin, directory, "--event-name", "CreateUser") == others[:1]
    assert query(strongroom_bin, directory) == events(directory)

    def ids(*filters: str) -> list[str]:
        """The KMS events a query selects (the IAM set-up calls are checked above)."""
        got = query(strongroom_bin, directory, *filters)
        exported = export(strongroom_bin, directory, *filters)
        assert list(exported) == ["Records"] and exported["Records"] == got, filters
        return [e["requestID"] for e in got if e["eventSource"] == KMS_SOURCE]

    def expected(pred: Callable[[Made], bool]) -> list[str]:
        return [m.request_id for m in made if pred(m)]

    middle = event_time(phase1_end + 5 * DAY_S)
    later = event_time(phase1_end + 20 * DAY_S)
    assert ids() == expected(lambda m: True)
    assert [e for e in query(strongroom_bin, directory) if e["eventSource"] == KMS_SOURCE] == everything
    assert ids("--key", a["Arn"]) == expected(lambda m: m.key == a["Arn"])
    assert ids("--key", a["KeyId"]) == expected(lambda m: m.key == a["Arn"])
    assert ids("--key", b["Arn"]) == expected(lambda m: m.key == b["Arn"])
    assert ids("--principal", user.arn) == expected(lambda m: m.principal == user.arn)
    assert ids("--principal", root_arn) == expected(lambda m: m.principal == root_arn)
    assert ids("--event-name", "Encrypt") == expected(lambda m: m.name == "Encrypt")
    assert ids("--event-name", "DescribeKey") == expected(lambda m: m.name == "DescribeKey")
    assert ids("--error", "any") == expected(lambda m: m.error is not None)
    assert ids("--error", "AccessDeniedException") == expected(lambda m: m.error == "AccessDeniedException")
    assert ids("--success") == expected(lambda m: m.error is None)
    assert ids("--since", middle) == expected(lambda m: m.phase == 2)
    assert ids("--until", middle) == expected(lambda m: m.phase == 1)
    assert ids("--since", middle, "--until", later) == expected(lambda m: m.phase == 2)
    assert ids("--since", later) == []
    assert ids("--key", a["Arn"], "--event-name", "Encrypt", "--principal", user.arn, "--since", middle) == \
        expected(lambda m: (m.key, m.name, m.principal, m.phase) == (a["Arn"], "Encrypt", user.arn, 2))
    assert ids("--principal", user.arn, "--success") == expected(lambda m: m.principal == user.arn and not m.error)
    assert len(expected(lambda m: m.phase == 2)) == 5 and len(expected(lambda m: m.error)) == 3
    # The phase-2 events carry the moved clock's time.
    for e in everything[-5:]:
        assert parse_event_time(e["eventTime"]) >= int(phase1_end) + 10 * DAY_S, e["eventTime"]
    bad = run_audit(strongroom_bin, "query", str(directory), "--since", "yesterday")
    assert bad.returncode != 0 and "--since" in bad.stderr, bad



# -- (6) service events ------------------------------------------------------------------------


def _service_event(account_id: str, name: str, key_arn: str) -> dict:
    """AWS's ct-delete-key / ct-rotatekey examples, less eventID and eventTime."""
    return {
        "eventVersion": "1.08",
        "userIdentity": {"accountId": account_id, "invokedBy": "AWS Internal"},
        "eventSource": KMS_SOURCE, "eventName": name, "awsRegion": REGION,
        "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
        "requestParameters": None, "responseElements": None, "readOnly": False,
        "resources": [{"accountId": account_id, "type": "AWS::KMS::Key", "ARN": key_arn}],
        "eventType": "AwsServiceEvent", "managementEvent": True, "recipientAccountId": account_id,
        "eventCategory": "Management",
    }


def test_scheduled_deletion_and_automatic_rotation_are_service_events(make_server, strongroom_bin):
    srv = private_server(make_server, "service", *CLOCK_CONTROL_ARGS)
    kms = kms_of(srv)
    doomed = kms.create_key()["KeyMetadata"]
    spared = kms.create_key()["KeyMetadata"]
    rotated = kms.create_key()["KeyMetadata"]
    deletion = kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)["DeletionDate"].timestamp()
    kms.schedule_key_deletion(KeyId=spared["KeyId"], PendingWindowInDays=30)
    kms.enable_key_rotation(KeyId=rotated["KeyId"], RotationPeriodInDays=90)

    jump = srv.advance_clock(8 * DAY_S)
    assert (jump["deleted"], jump["rotated"]) == (1, 0), jump
    directory = audit_dir(srv)
    services = [e for e in kms_events(directory) if e["eventType"] == "AwsServiceEvent"]
    assert len(services) == 1, services
    deleted = services[0]
    assert {k: v for k, v in deleted.items() if k not in ("eventID", "eventTime")} == \
        _service_event(srv.account_id, "DeleteKey", doomed["Arn"])
    assert list(deleted) == [m for m in API_CALL_MEMBERS if m not in ("errorCode", "errorMessage", "requestID")]
    assert UUID_RE.match(deleted["eventID"])
    assert int(deletion) <= parse_event_time(deleted["eventTime"]) <= jump["now"]
    assert query(strongroom_bin, directory, "--key", doomed["Arn"], "--event-name", "DeleteKey") == [deleted]
    assert query(strongroom_bin, directory, "--key", spared["Arn"], "--event-name", "DeleteKey") == []

    jump = srv.advance_clock(90 * DAY_S)
    assert (jump["rotated"], jump["deleted"]) == (1, 1), jump  # the 30-day key goes too
    services = [e for e in kms_events(directory) if e["eventType"] == "AwsServiceEvent"]
    by_name = sorted((e["eventName"], e["resources"][0]["ARN"]) for e in services)
    assert by_name == sorted([("DeleteKey", doomed["Arn"]), ("DeleteKey", spared["Arn"]),
                              ("RotateKey", rotated["Arn"])]), by_name
    rotation = [e for e in services if e["eventName"] == "RotateKey"][0]
    assert {k: v for k, v in rotation.items() if k not in ("eventID", "eventTime")} == \
        _service_event(srv.account_id, "RotateKey", rotated["Arn"])
    assert srv.stop() == 0
    assert_verifies(strongroom_bin, directory, "--require-sealed")


def test_a_role_session_is_recorded_with_its_issuer_and_creation_date(make_server, strongroom_bin):
    """sessionContext.attributes.creationDate is when the session's credentials were issued
    (CloudTrail's userIdentity reference), not the time of the request that uses them. The
    test clock moves ten minutes between AssumeRole and the KMS call."""
    srv = private_server(make_server, "session", *CLOCK_CONTROL_ARGS)
    iam = client("iam", srv)
    key = kms_of(srv).create_key()["KeyMetadata"]
    assumer = make_user(iam, "audit-sess", policy=allow("sts:AssumeRole"))
    role = make_role(iam, [assumer.arn], "audit-sess-role")
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="kms", PolicyDocument=json.dumps(allow("kms:Encrypt")))
    out = assumer.client(srv, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="late", DurationSeconds=3600)
    issued = out["Credentials"]["Expiration"].timestamp() - 3600
    srv.advance_clock(600)
    rid = request_id_of(session_client(srv, "kms", out["Credentials"]).encrypt(KeyId=key["Arn"], Plaintext=b"s"))
    event = the_event(audit_dir(srv), rid)
    identity = event["userIdentity"]
    assert identity["arn"] == out["AssumedRoleUser"]["Arn"]
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == role["Arn"]
    # --principal with the role ARN finds its sessions' events; with the session ARN too.
    assert [e["requestID"] for e in query(strongroom_bin, audit_dir(srv), "--principal", role["Arn"])] == [rid]
    assert [e["requestID"] for e in query(strongroom_bin, audit_dir(srv), "--principal",
                                          out["AssumedRoleUser"]["Arn"])] == [rid]
    created = parse_event_time(identity["sessionContext"]["attributes"]["creationDate"])
    assert abs(created - issued) <= 1, (
        f"creationDate {identity['sessionContext']['attributes']['creationDate']} is not the issue time "
        f"{event_time(issued)} (the request was made at {event['eventTime']})")


# -- (7) modes and options --------------------------------------------------------------------


def _some_traffic(srv) -> list[str]:
    kms = kms_of(srv)
    key = kms.create_key()
    ids = [request_id_of(key)]
    for i in range(5):
        ids.append(request_id_of(kms.encrypt(KeyId=key["KeyMetadata"]["KeyId"], Plaintext=b"%d" % i)))
    return ids


def test_audit_off_writes_no_audit_directory(make_server):
    srv = private_server(make_server, "off", "--audit", "off")
    assert len(_some_traffic(srv)) == 6
    assert srv.stop() == 0
    assert not audit_dir(srv).exists(), sorted(p.name for p in audit_dir(srv).iterdir())
    assert (srv.data_dir / "root.key").exists()  # the data directory itself was used


def test_best_effort_still_records_every_event(make_server, strongroom_bin):
    srv = private_server(make_server, "best-effort", "--audit", "best-effort")
    ids = _some_traffic(srv)
    directory = audit_dir(srv)

    def all_logged() -> bool:
        try:
            return set(ids) <= {e.get("requestID") for e in events(directory)}
        except (AssertionError, FileNotFoundError, json.JSONDecodeError):
            return False  # a write in progress

    poll(all_logged, 10, "best-effort events to be written")
    assert srv.stop() == 0
    assert [e["requestID"] for e in kms_events(directory)] == ids
    assert_verifies(strongroom_bin, directory, "--require-sealed")


def test_audit_dir_option_moves_the_log(make_server, strongroom_bin, tmp_path):
    elsewhere = tmp_path / "elsewhere-audit"
    srv = private_server(make_server, "audit-dir", "--audit-dir", str(elsewhere))
    ids = _some_traffic(srv)
    assert [e["requestID"] for e in kms_events(elsewhere)] == ids
    assert srv.stop() == 0
    assert not audit_dir(srv).exists()
    assert_verifies(strongroom_bin, elsewhere, "--require-sealed")


def test_digest_interval_seals_a_live_log(make_server, strongroom_bin):
    """With --audit-digest-interval 1 a digest covers new events within about a second while the
    server keeps running, so the live log verifies as sealed."""
    srv = private_server(make_server, "digest", "--audit-digest-interval", "1")
    ids = _some_traffic(srv)
    directory = audit_dir(srv)

    def sealed_digest():
        lines = read_lines(directory, allow_torn_tail=True)
        return lines and lines[-1].is_digest and lines[-1].record["digest"]["lastSeq"] == len(ids)

    poll(sealed_digest, 10, "a digest covering the events")
    assert srv.running
    assert_verifies(strongroom_bin, directory, "--require-sealed")
    summary = check_log_independently(directory, load_public_key(directory / "public-key"))
    assert (summary["events"], summary["digests"], summary["sealed"]) == (len(ids), 1, True)


def test_a_clean_restart_continues_the_chain_in_a_new_segment(make_server, strongroom_bin):
    srv = private_server(make_server, "restart")
    first = _some_traffic(srv)
    assert srv.stop() == 0
    srv.start()
    second = _some_traffic(srv)
    assert srv.stop() == 0
    directory = audit_dir(srv)
    lines = read_lines(directory)
    assert [(ln.segment, ln.is_digest) for ln in lines] == (
        [(SEGMENT_1, False)] * 6 + [(SEGMENT_1, True)] + [("segment-00000002.jsonl", False)] * 6
        + [("segment-00000002.jsonl", True)])
    assert [e["requestID"] for e in kms_events(directory)] == first + second
    assert lines[7].record["prev"] == line_hash(lines[6].raw)
    assert lines[-1].record["digest"]["previousDigest"] == line_hash(lines[6].raw)
    summary = check_log_independently(directory, load_public_key(directory / "public-key"))
    assert (summary["events"], summary["digests"], summary["segments"], summary["sealed"]) == (12, 2, 2, True)
    out = assert_verifies(strongroom_bin, directory, "--require-sealed")
    assert "OK: 12 events, 2 digests in 2 segments; last seq 14" in out, out


def test_reordered_segments_are_detected(segmented_log, strongroom_bin, tmp_path):
    copy = copy_log(segmented_log, tmp_path / "copy")
    two, three = copy / "segment-00000002.jsonl", copy / "segment-00000003.jsonl"
    first_of_three = read_lines(copy)
    seq3 = [ln for ln in first_of_three if ln.segment == three.name][0].record["seq"]
    two.rename(copy / "swap")
    three.rename(two)
    (copy / "swap").rename(three)
    finding = tampered(strongroom_bin, copy)
    assert (finding["segment"], finding["line"], finding["seq"]) == ("segment-00000002.jsonl", 1, seq3), \
        finding["output"]


# -- (8) IAM and STS requests ----------------------------------------------------------------

# Both clients sign for this region: STS records it, IAM (global) records us-east-1.
SIGNED_REGION = "eu-west-1"
IAM_REGION = "us-east-1"


@dataclass
class QueryCase:
    """One IAM or STS request the scenario made and what its audit event must say."""

    request_id: str
    source: str
    event_name: str
    identity: dict
    read_only: bool
    region: str
    params: Any = None
    elements: Any = None
    resources: list[dict] = field(default_factory=list)
    error: tuple[str, str] | None = None
    user_agent: str | None = None
    started: float = 0.0
    finished: float = 0.0
    authenticated: bool = True


@dataclass
class QueryScenario:
    srv: StrongroomServer
    cases: dict[str, QueryCase] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)


def _role_resource(account_id: str, arn: str) -> dict:
    return {"accountId": account_id, "type": "AWS::IAM::Role", "ARN": arn}


def _iam_user_identity(account_id: str, user: dict, access_key_id: str) -> dict:
    return {"type": "IAMUser", "principalId": user["UserId"], "arn": user["Arn"], "accountId": account_id,
            "accessKeyId": access_key_id, "userName": user["UserName"]}


def _run_query_scenario(srv: StrongroomServer) -> QueryScenario:
    acct = srv.account_id
    sc = QueryScenario(srv)
    sc.secrets["root secret access key"] = srv.secret_access_key.encode()
    root = root_identity(srv)

    def boto(service: str, akid: str, secret: str, token: str | None = None, *,
             validate: bool = True) -> UserAgentTap:
        return UserAgentTap(aws_client(service, srv.endpoint, akid, secret, token, SIGNED_REGION,
                                       validate=validate))

    iam = boto("iam", srv.access_key_id, srv.secret_access_key)
    iam_raw = boto("iam", srv.access_key_id, srv.secret_access_key, validate=False)
    sts = boto("sts", srv.access_key_id, srv.secret_access_key)

    def call(name: str, tap: UserAgentTap, method: str, *, params: Any, identity: dict = root,
             read_only: bool = False, elements: Any = None, resources: list[dict] | None = None,
             error: str | None = None, **kwargs) -> dict:
        assert name not in sc.cases, name
        response, started, finished = _invoke(name, tap, method, error, kwargs)
        source = STS_SOURCE if tap.client.meta.service_model.service_name == "sts" else IAM_SOURCE
        sc.cases[name] = QueryCase(
            request_id=request_id_of(response), source=source, event_name=name.split("-")[0],
            identity=identity, read_only=read_only, region=SIGNED_REGION if source == STS_SOURCE else IAM_REGION,
            params=params, elements=elements(response) if callable(elements) else elements,
            resources=resources or [],
            error=None if error is None else (error, response["Error"]["Message"]),
            user_agent=tap.last, started=started, finished=finished)
        return response

    def raw(name: str, service: str, event_name: str, *, form: dict | None = None, body: bytes | None = None,
            akid: str | None, secret: str | None, code: str, identity: dict, params: Any = None,
            read_only: bool = False, region: str = IAM_REGION) -> None:
        started = time.time()
        resp, signature = query_request(srv.endpoint, service, form, body=body, access_key_id=akid,
                                        secret_access_key=secret, region=SIGNED_REGION,
                                        user_agent=RAW_USER_AGENT)
        _, got_code, message = xml_error(resp)
        assert got_code == code, (name, resp.status, resp.body)
        # The error is in the XML namespace of the service the request was for.
        assert QUERY_NAMESPACES[service].encode() in resp.body, (name, resp.body)
        if signature:
            sc.secrets[f"signature of {name}"] = signature.encode()
        sc.cases[name] = QueryCase(
            request_id=resp.header("x-amzn-RequestId"), source=IAM_SOURCE if service == "iam" else STS_SOURCE,
            event_name=event_name, identity=identity, read_only=read_only, region=region, params=params,
            error=(code, message), user_agent=RAW_USER_AGENT, started=started, finished=time.time(),
            authenticated=False)

    # Users, their access keys, inline policies and tags.
    alice_name = unique("audit-alice")
    alice = call("CreateUser", iam, "create_user", UserName=alice_name, Path="/audit/",
                 Tags=[{"Key": "team", "Value": "blue"}],
                 params={"userName": alice_name, "path": "/audit/", "tags": [{"key": "team", "value": "blue"}]},
                 elements=lambda r: {"user": {
                     "path": "/audit/", "userName": alice_name, "userId": r["User"]["UserId"],
                     "arn": r["User"]["Arn"], "createDate": cloudtrail_date(r["User"]["CreateDate"]),
                     "tags": [{"key": "team", "value": "blue"}]}})["User"]
    call("GetUser", iam, "get_user", UserName=alice_name, read_only=True, params={"userName": alice_name})
    call("ListUsers", iam, "list_users", PathPrefix="/audit/", MaxItems=10, read_only=True,
         params={"pathPrefix": "/audit/", "maxItems": 10})
    user_policy = json.dumps(allow(["sts:AssumeRole", "cloudtrail:LookupEvents"]))
    call("PutUserPolicy", iam, "put_user_policy", UserName=alice_name, PolicyName="inline",
         PolicyDocument=user_policy,
         params={"userName": alice_name, "policyName": "inline", "policyDocument": user_policy})
    call("GetUserPolicy", iam, "get_user_policy", UserName=alice_name, PolicyName="inline", read_only=True,
         params={"userName": alice_name, "policyName": "inline"})
    call("ListUserPolicies", iam, "list_user_policies", UserName=alice_name, read_only=True,
         params={"userName": alice_name})
    key = call("CreateAccessKey", iam, "create_access_key", UserName=alice_name, params={"userName": alice_name},
               elements=lambda r: {"accessKey": {
                   "userName": alice_name, "accessKeyId": r["AccessKey"]["AccessKeyId"], "status": "Active",
                   "createDate": cloudtrail_date(r["AccessKey"]["CreateDate"])}})["AccessKey"]
    sc.secrets["alice's secret access key"] = key["SecretAccessKey"].encode()
    call("UpdateAccessKey", iam, "update_access_key", UserName=alice_name, AccessKeyId=key["AccessKeyId"],
         Status="Active", params={"userName": alice_name, "accessKeyId": key["AccessKeyId"], "status": "Active"})
    call("ListAccessKeys", iam, "list_access_keys", UserName=alice_name, read_only=True,
         params={"userName": alice_name})
    call("TagUser", iam, "tag_user", UserName=alice_name, Tags=[{"Key": "env", "Value": "test"}],
         params={"userName": alice_name, "tags": [{"key": "env", "value": "test"}]})
    call("ListUserTags", iam, "list_user_tags", UserName=alice_name, read_only=True,
         params={"userName": alice_name})
    call("UntagUser", iam, "untag_user", UserName=alice_name, TagKeys=["env"],
         params={"userName": alice_name, "tagKeys": ["env"]})

    # Roles.
    role_name = unique("audit-role")
    trust_doc = json.dumps(trust(alice["Arn"]))
    role = call("CreateRole", iam, "create_role", RoleName=role_name, Path="/", AssumeRolePolicyDocument=trust_doc,
                Description="audit role", MaxSessionDuration=7200, Tags=[{"Key": "team", "Value": "blue"}],
                params={"roleName": role_name, "path": "/", "assumeRolePolicyDocument": trust_doc,
                        "description": "audit role", "maxSessionDuration": 7200,
                        "tags": [{"key": "team", "value": "blue"}]},
                elements=lambda r: {"role": {
                    "path": "/", "roleName": role_name, "roleId": r["Role"]["RoleId"], "arn": r["Role"]["Arn"],
                    "createDate": cloudtrail_date(r["Role"]["CreateDate"]),
                    "assumeRolePolicyDocument": urllib.parse.quote(trust_doc, safe=""),
                    "description": "audit role", "maxSessionDuration": 7200,
                    "tags": [{"key": "team", "value": "blue"}]}})["Role"]
    call("GetRole", iam, "get_role", RoleName=role_name, read_only=True, params={"roleName": role_name})
    call("ListRoles", iam, "list_roles", read_only=True, params=None)
    role_policy = json.dumps(allow("kms:ListKeys"))
    call("PutRolePolicy", iam, "put_role_policy", RoleName=role_name, PolicyName="kms", PolicyDocument=role_policy,
         params={"roleName": role_name, "policyName": "kms", "policyDocument": role_policy})
    call("GetRolePolicy", iam, "get_role_policy", RoleName=role_name, PolicyName="kms", read_only=True,
         params={"roleName": role_name, "policyName": "kms"})
    call("ListRolePolicies", iam, "list_role_policies", RoleName=role_name, read_only=True,
         params={"roleName": role_name})
    call("TagRole", iam, "tag_role", RoleName=role_name, Tags=[{"Key": "env", "Value": "test"}],
         params={"roleName": role_name, "tags": [{"key": "env", "value": "test"}]})
    call("ListRoleTags", iam, "list_role_tags", RoleName=role_name, read_only=True, params={"roleName": role_name})
    call("UntagRole", iam, "untag_role", RoleName=role_name, TagKeys=["env"],
         params={"roleName": role_name, "tagKeys": ["env"]})

    # STS: the root's identity, a session of the role, the session's identity.
    call("GetCallerIdentity-of-root", sts, "get_caller_identity", read_only=True, params=None)
    alice_identity = _iam_user_identity(acct, alice, key["AccessKeyId"])
    alice_sts = boto("sts", key["AccessKeyId"], key["SecretAccessKey"])
    assumed = call("AssumeRole", alice_sts, "assume_role", RoleArn=role["Arn"], RoleSessionName="audit-iam",
                   DurationSeconds=900, ExternalId="ext-123", identity=alice_identity, read_only=True,
                   params={"roleArn": role["Arn"], "roleSessionName": "audit-iam", "durationSeconds": 900,
                           "externalId": "ext-123"},
                   resources=[_role_resource(acct, role["Arn"])],
                   elements=lambda r: {
                       "credentials": {"accessKeyId": r["Credentials"]["AccessKeyId"],
                                       "expiration": cloudtrail_date(r["Credentials"]["Expiration"])},
                       "assumedRoleUser": {"assumedRoleId": r["AssumedRoleUser"]["AssumedRoleId"],
                                           "arn": r["AssumedRoleUser"]["Arn"]}})
    creds = assumed["Credentials"]
    sc.secrets["session secret access key"] = creds["SecretAccessKey"].encode()
    sc.secrets["session token"] = creds["SessionToken"].encode()
    session_identity = {
        "type": "AssumedRole", "principalId": f"{role['RoleId']}:audit-iam", "arn": assumed["AssumedRoleUser"]["Arn"],
        "accountId": acct, "accessKeyId": creds["AccessKeyId"],
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                              "accountId": acct, "userName": role_name},
            "attributes": {"creationDate": NOT_CHECKED, "mfaAuthenticated": "false"},
        },
    }
    session_sts = boto("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    call("GetCallerIdentity-of-a-session", session_sts, "get_caller_identity", identity=session_identity,
         read_only=True, params=None)

    # Denied: a user without any policy.
    nobody_name = unique("audit-nobody")
    nobody = call("CreateUser-nobody", iam, "create_user", UserName=nobody_name, params={"userName": nobody_name},
                  elements=lambda r: {"user": {
                      "path": "/", "userName": nobody_name, "userId": r["User"]["UserId"], "arn": r["User"]["Arn"],
                      "createDate": cloudtrail_date(r["User"]["CreateDate"])}})["User"]
    nobody_key = call("CreateAccessKey-nobody", iam, "create_access_key", UserName=nobody_name,
                      params={"userName": nobody_name},
                      elements=lambda r: {"accessKey": {
                          "userName": nobody_name, "accessKeyId": r["AccessKey"]["AccessKeyId"], "status": "Active",
                          "createDate": cloudtrail_date(r["AccessKey"]["CreateDate"])}})["AccessKey"]
    sc.secrets["nobody's secret access key"] = nobody_key["SecretAccessKey"].encode()
    nobody_identity = _iam_user_identity(acct, nobody, nobody_key["AccessKeyId"])
    nobody_iam = boto("iam", nobody_key["AccessKeyId"], nobody_key["SecretAccessKey"])
    nobody_sts = boto("sts", nobody_key["AccessKeyId"], nobody_key["SecretAccessKey"])
    call("ListUsers-AccessDenied", nobody_iam, "list_users", identity=nobody_identity, read_only=True, params=None,
         error="AccessDenied")
    call("CreateRole-AccessDenied", nobody_iam, "create_role", RoleName="nope", AssumeRolePolicyDocument=trust_doc,
         identity=nobody_identity, params={"roleName": "nope", "assumeRolePolicyDocument": trust_doc},
         error="AccessDenied")
    call("AssumeRole-AccessDenied", nobody_sts, "assume_role", RoleArn=role["Arn"], RoleSessionName="nope",
         identity=nobody_identity, read_only=True, params={"roleArn": role["Arn"], "roleSessionName": "nope"},
         resources=[_role_resource(acct, role["Arn"])], error="AccessDenied")

    # Refused: a missing entity and invalid input.
    call("GetUser-NoSuchEntity", iam, "get_user", UserName="no-such-user", read_only=True,
         params={"userName": "no-such-user"}, error="NoSuchEntity")
    call("CreateUser-ValidationError", iam_raw, "create_user", UserName="bad name!",
         params={"userName": "bad name!"}, error="ValidationError")
    alice_sts_raw = boto("sts", key["AccessKeyId"], key["SecretAccessKey"], validate=False)
    call("AssumeRole-ValidationError", alice_sts_raw, "assume_role", RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=899,
         identity=alice_identity, read_only=True,
         params={"roleArn": role["Arn"], "roleSessionName": "short", "durationSeconds": 899},
         resources=[_role_resource(acct, role["Arn"])], error="ValidationError")

    # Not authenticated, and not readable: raw requests.
    stranger, stranger_secret = random_access_key_id(), random_secret_access_key()
    sc.secrets["a stranger's secret"] = stranger_secret.encode()
    raw("GetUser-InvalidClientTokenId", "iam", "GetUser",
        form={"Action": "GetUser", "Version": "2010-05-08", "UserName": alice_name}, akid=stranger,
        secret=stranger_secret, code="InvalidClientTokenId", identity={"type": "Unknown", "accessKeyId": stranger},
        params={"userName": alice_name}, read_only=True)
    raw("GetCallerIdentity-InvalidClientTokenId", "sts", "GetCallerIdentity",
        form={"Action": "GetCallerIdentity", "Version": "2011-06-15"}, akid=stranger, secret=stranger_secret,
        code="InvalidClientTokenId", identity={"type": "Unknown", "accessKeyId": stranger}, read_only=True,
        region=SIGNED_REGION)
    # An unauthenticated AssumeRole names a role, but belongs to no account: no resources.
    raw("AssumeRole-InvalidClientTokenId", "sts", "AssumeRole",
        form={"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": role["Arn"], "RoleSessionName": "x1"},
        akid=stranger, secret=stranger_secret, code="InvalidClientTokenId",
        identity={"type": "Unknown", "accessKeyId": stranger},
        params={"roleArn": role["Arn"], "roleSessionName": "x1"}, read_only=True, region=SIGNED_REGION)
    wrong_secret = random_secret_access_key()
    sc.secrets["a wrong secret"] = wrong_secret.encode()
    raw("ListRoles-SignatureDoesNotMatch", "iam", "ListRoles", form={"Action": "ListRoles"},
        akid=srv.access_key_id, secret=wrong_secret, code="SignatureDoesNotMatch",
        identity={"type": "Unknown", "accessKeyId": srv.access_key_id}, read_only=True)
    raw("ListUsers-MissingAuthenticationToken", "iam", "ListUsers", form={"Action": "ListUsers", "MaxItems": "5"},
        akid=None, secret=None, code="MissingAuthenticationToken", identity={"type": "Unknown"},
        params={"maxItems": 5}, read_only=True)
    # Unsigned, so no credential scope names the service; its action does (IAM and STS share
    # the endpoint, and their action names do not overlap).
    raw("GetCallerIdentity-MissingAuthenticationToken", "sts", "GetCallerIdentity",
        form={"Action": "GetCallerIdentity", "Version": "2011-06-15"}, akid=None, secret=None,
        code="MissingAuthenticationToken", identity={"type": "Unknown"}, read_only=True, region="")
    raw("MalformedQueryString", "iam", "Unknown", body=b"Action=GetUser&UserName=%ZZ",
        akid=srv.access_key_id, secret=srv.secret_access_key, code="MalformedQueryString", identity=root)
    raw("InvalidAction", "iam", "Frobnicate", form={"Action": "Frobnicate", "Version": "2010-05-08"},
        akid=srv.access_key_id, secret=srv.secret_access_key, code="InvalidAction", identity=root)
    for name in ("MalformedQueryString", "InvalidAction"):
        sc.cases[name].authenticated = True

    # Clean up: every deletion is an event too.
    call("DeleteRolePolicy", iam, "delete_role_policy", RoleName=role_name, PolicyName="kms",
         params={"roleName": role_name, "policyName": "kms"})
    call("DeleteRole", iam, "delete_role", RoleName=role_name, params={"roleName": role_name})
    call("DeleteUserPolicy", iam, "delete_user_policy", UserName=alice_name, PolicyName="inline",
         params={"userName": alice_name, "policyName": "inline"})
    call("DeleteAccessKey", iam, "delete_access_key", UserName=alice_name, AccessKeyId=key["AccessKeyId"],
         params={"userName": alice_name, "accessKeyId": key["AccessKeyId"]})
    call("DeleteUser", iam, "delete_user", UserName=alice_name, params={"userName": alice_name})
    return sc


@pytest.fixture(scope="module")
def query_scenario(strongroom_bin, tmp_path_factory):
    yield from _scenario_of(strongroom_bin, tmp_path_factory, "audit-iam-sts", _run_query_scenario)


QUERY_NAMESPACES = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
                    "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}

QUERY_CASES = [
    "CreateUser", "GetUser", "ListUsers", "PutUserPolicy", "GetUserPolicy", "ListUserPolicies", "CreateAccessKey",
    "UpdateAccessKey", "ListAccessKeys", "TagUser", "ListUserTags", "UntagUser", "CreateRole", "GetRole", "ListRoles",
    "PutRolePolicy", "GetRolePolicy", "ListRolePolicies", "TagRole", "ListRoleTags", "UntagRole",
    "GetCallerIdentity-of-root", "AssumeRole", "GetCallerIdentity-of-a-session", "CreateUser-nobody",
    "CreateAccessKey-nobody", "ListUsers-AccessDenied", "CreateRole-AccessDenied", "AssumeRole-AccessDenied",
    "GetUser-NoSuchEntity", "CreateUser-ValidationError", "AssumeRole-ValidationError",
    "GetUser-InvalidClientTokenId", "GetCallerIdentity-InvalidClientTokenId", "AssumeRole-InvalidClientTokenId",
    "ListRoles-SignatureDoesNotMatch",
    "ListUsers-MissingAuthenticationToken", "GetCallerIdentity-MissingAuthenticationToken",
    "MalformedQueryString", "InvalidAction", "DeleteRolePolicy",
    "DeleteRole", "DeleteUserPolicy", "DeleteAccessKey", "DeleteUser",
]


def test_every_iam_and_sts_action_is_covered(query_scenario):
    """The scenario calls every IAM and STS action the server implements (docs/access-control.md)."""
    called = {c.event_name for c in query_scenario.cases.values() if c.error is None}
    implemented = {
        "CreateUser", "GetUser", "DeleteUser", "ListUsers", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
        "ListAccessKeys", "PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy", "ListUserPolicies", "CreateRole",
        "GetRole", "DeleteRole", "ListRoles", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy",
        "ListRolePolicies", "TagUser", "UntagUser", "ListUserTags", "TagRole", "UntagRole", "ListRoleTags",
        "AssumeRole", "GetCallerIdentity",
    }
    assert called == implemented, called ^ implemented
    assert list(query_scenario.cases) == QUERY_CASES


@pytest.mark.parametrize("name", QUERY_CASES)
def test_each_iam_and_sts_request_is_one_event(query_scenario, name):
    srv, case = query_scenario.srv, query_scenario.cases[name]
    check = EventCheck(the_event(audit_dir(srv), case.request_id))
    check.common(case)
    check.expect("eventSource", case.source)
    check.expect("awsRegion", case.region)
    check.expect("requestParameters", case.params)
    check.expect("responseElements", case.elements)
    check.expect("resources", case.resources)
    check.expect("recipientAccountId", srv.account_id if case.authenticated else "")
    for date in _dates_in(check.event.get("responseElements")):
        if not CLOUDTRAIL_DATE_RE.match(date):
            check.problems.append(f"{date!r} is not written like CloudTrail's dates")
    check.assert_none(name, case.request_id)


def _dates_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in ("createDate", "expiration")]
        return found + [d for v in value.values() for d in _dates_in(v)]
    return []


def test_the_log_holds_exactly_the_iam_and_sts_requests_made(query_scenario):
    """Every request to this server was one of the cases: one event each, and nothing else."""
    logged = events(audit_dir(query_scenario.srv))
    made = [c.request_id for c in query_scenario.cases.values()]
    assert len(set(made)) == len(made) == len(QUERY_CASES)
    assert [e.get("requestID") for e in logged] == made
    assert [e["eventSource"] for e in logged] == [c.source for c in query_scenario.cases.values()]
    assert len(events_of(audit_dir(query_scenario.srv), STS_SOURCE)) == 8


def test_no_iam_or_sts_secret_reaches_the_audit_directory(query_scenario, strongroom_bin):
    """Secret access keys (the root's, users', a session's, and those of refused requests),
    the session token and request signatures: in no form, in no file of the trail."""
    directory = audit_dir(query_scenario.srv)
    secrets = query_scenario.secrets
    assert len([k for k in secrets if k.startswith("signature of")]) == 6
    assert not _scan_audit_dir(directory, secrets), _scan_audit_dir(directory, secrets)
    # The scan is not vacuous: the events that carried them are there, and the trail verifies.
    assert {e["eventName"] for e in events(directory)} >= {"CreateAccessKey", "AssumeRole", "GetCallerIdentity"}
    assert_verifies(strongroom_bin, directory)


# -- (9) fail-closed, for every front end ------------------------------------------------------


def test_answers_are_withheld_when_their_events_cannot_be_recorded(make_server):
    """Fail-closed: once the trail cannot be written, no API answers anything but a 500 — KMS
    (KMSInternalException), IAM (ServiceFailure), STS (InternalFailure), CloudTrail
    (InternalFailure), each in its own protocol's error shape.

    The failure is real: a directory squats on the name of the next segment, so the writer
    fails when the 1 MiB segment rolls over, and refuses everything after (the state of a log
    after a failed write is unknown)."""
    srv = private_server(make_server, "fail-closed", "--audit-segment-mib", "1")
    (audit_dir(srv) / "segment-00000002.jsonl").mkdir()
    iam = client("iam", srv)
    user = unique("fc")
    answered_ok = [request_id_of(iam.create_user(UserName=user))]
    # Under the 100 KiB above which an event leaves the parameters out, so each is ~90 KB.
    padded = json.dumps(allow("kms:ListKeys"))[:-1] + " " * 90_000 + "}"
    failed = None
    for _ in range(40):
        try:
            answered_ok.append(request_id_of(
                iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=padded)))
        except ClientError as exc:
            failed = exc.response
            break
    assert failed is not None and 5 <= len(answered_ok) < 40, answered_ok
    assert (failed["ResponseMetadata"]["HTTPStatusCode"], failed["Error"]["Code"]) == (500, "ServiceFailure")

    def logged_ids() -> set[str]:
        content = segment_content(audit_dir(srv) / SEGMENT_1)
        records = [json.loads(line) for line in content.split(b"\n") if line.strip()]
        return {r["event"]["requestID"] for r in records if "event" in r}

    assert set(answered_ok) <= logged_ids(), "every request answered before the failure is recorded"

    def withheld(fn, code: str, **kwargs) -> str:
        with pytest.raises(ClientError) as info:
            fn(**kwargs)
        err = info.value.response
        assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == (500, code), err
        assert "could not be recorded in the audit trail" in err["Error"]["Message"], err
        return err["ResponseMetadata"]["RequestId"]

    ids = [
        withheld(iam.get_user, "ServiceFailure", UserName=user),
        withheld(client("sts", srv).get_caller_identity, "InternalFailure"),
        withheld(kms_of(srv).list_keys, "KMSInternalException"),
        withheld(aws_client("cloudtrail", srv.endpoint, srv.access_key_id, srv.secret_access_key).lookup_events,
                 "InternalFailure"),
    ]
    # An unauthenticated request is refused the same way: even its refusal is not answered.
    resp, _ = query_request(srv.endpoint, "iam", {"Action": "ListUsers"})
    assert resp.status == 500 and xml_error(resp)[:2] == ("Receiver", "ServiceFailure"), resp.body
    assert not set(ids) & logged_ids()


# -- requests over the size limit ------------------------------------------------------------


CLOUDTRAIL_LOOKUP = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"


def test_requests_over_the_size_limit_are_answered_in_their_protocol_and_audited(make_server):
    """The listener does not read a body over 1 MiB, but the request is still answered in its
    protocol's shape and recorded, as unauthenticated (the signature covers the body), naming
    the access key and the operation its headers name."""
    srv = make_server("audit-too-large")
    srv.start()
    big = b" " * (1024 * 1024 + 1)
    creds = {"access_key_id": srv.access_key_id, "secret_access_key": srv.secret_access_key,
             "region": srv.region}
    answers = {}
    headers, body = build_request(srv.endpoint, "Encrypt", big, **creds)
    answers["kms"] = send_raw(srv.endpoint, headers, body)
    headers, body = build_request(srv.endpoint, CLOUDTRAIL_LOOKUP, big, service="cloudtrail", **creds)
    answers["cloudtrail"] = send_raw(srv.endpoint, headers, body)
    answers["sts"], _ = query_request(srv.endpoint, "sts", body=b"Action=GetCallerIdentity&Pad=" + big, **creds)

    for name in ("kms", "cloudtrail"):
        resp = answers[name]
        assert (resp.status, resp.error_code) == (413, "ValidationException"), (name, resp.body[:300])
    assert answers["sts"].status == 413
    assert xml_error(answers["sts"])[1] == "RequestEntityTooLarge", answers["sts"].body

    expected = {
        "kms": (KMS_SOURCE, "Encrypt", "ValidationException", srv.region),
        "cloudtrail": (CLOUDTRAIL_SOURCE, "LookupEvents", "ValidationException", srv.region),
        "sts": (STS_SOURCE, "Unknown", "RequestEntityTooLarge", srv.region),
    }
    for name, (source, event_name, code, region) in expected.items():
        resp = answers[name]
        event = the_event(audit_dir(srv), resp.header("x-amzn-RequestId"))
        assert (event["eventSource"], event["eventName"], event["errorCode"]) == (source, event_name, code), event
        assert event["userIdentity"] == {"type": "Unknown", "accessKeyId": srv.access_key_id}, event
        assert event["awsRegion"] == region, event
        assert event["requestParameters"] is None and event["resources"] == [], event


def test_the_parameters_of_a_request_over_100_kib_are_not_recorded(make_server):
    """Every event stays small: a body over 100 KiB (no valid request of these APIs is that
    large) is recorded without its parameters."""
    srv = make_server("audit-big-params")
    srv.start()
    creds = {"access_key_id": srv.access_key_id, "secret_access_key": srv.secret_access_key,
             "region": srv.region}
    answers = []
    for size in (100 * 1024 - 200, 100 * 1024 + 1):
        payload = json.dumps({"Description": "d" * size}).encode()
        headers, body = build_request(srv.endpoint, "CreateKey", payload, **creds)
        resp = send_raw(srv.endpoint, headers, body)
        assert (resp.status, resp.error_code) == (400, "ValidationException"), resp.body[:200]
        answers.append((len(body), the_event(audit_dir(srv), resp.header("x-amzn-RequestId"))))
    (small_len, small), (big_len, big) = answers
    assert small_len <= 100 * 1024 < big_len, (small_len, big_len)
    assert len(small["requestParameters"]["description"]) == 100 * 1024 - 200
    assert big["requestParameters"] is None and big["errorCode"] == "ValidationException"
