"""STS over the Query protocol: GetCallerIdentity and AssumeRole, and the session
credentials AssumeRole hands out (their identity, expiry, token checks), with boto3
and the AWS CLI.

Expected behaviour follows the STS API reference: DurationSeconds 900 to the role's
MaxSessionDuration (3,600 by default), at most one hour for role chaining, session
names of 2-64 `[\\w+=,.@-]`, AccessDenied for roles the caller may not assume (and,
indistinguishably, for roles that do not exist); the account root may not assume
roles. Authentication failures of query services: InvalidClientTokenId and
ExpiredToken, HTTP 403."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from iam_sts_helpers import (
    STS_NS,
    allow,
    aws_json,
    aws,
    client,
    credentials_env,
    delete_user_fully,
    make_role,
    make_user,
    query_call,
    session_client,
    trust,
    xml_error,
)
from kms_helpers import raises_kms as raises, unique


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def iam(server):
    return client("iam", server)


@pytest.fixture(scope="module")
def alice(server, iam):
    """A user allowed sts:AssumeRole on any role (its identity policy); roles decide
    with their trust policies."""
    user = make_user(iam, "alice", policy=allow("sts:AssumeRole"))
    yield user
    delete_user_fully(iam, user.name)


@pytest.fixture
def role(iam, alice):
    """A role trusting alice, with MaxSessionDuration 7200 and KMS read access."""
    r = make_role(iam, [alice.arn], "assumable", MaxSessionDuration=7200)
    iam.put_role_policy(RoleName=r["RoleName"], PolicyName="kms-read",
                        PolicyDocument=json.dumps(allow(["kms:ListKeys", "kms:ListAliases"])))
    yield r
    for p in iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]:
        iam.delete_role_policy(RoleName=r["RoleName"], PolicyName=p)
    iam.delete_role(RoleName=r["RoleName"])


def alice_sts(server, alice, **kwargs):
    return alice.client(server, "sts", **kwargs)


# -- GetCallerIdentity ------------------------------------------------------------------


def test_caller_identity_of_root_and_user(server, alice, account_id):
    root = client("sts", server).get_caller_identity()
    assert (root["UserId"], root["Account"], root["Arn"]) == (
        account_id, account_id, f"arn:aws:iam::{account_id}:root")
    me = alice_sts(server, alice).get_caller_identity()
    assert (me["UserId"], me["Account"], me["Arn"]) == (alice.user_id, account_id, alice.arn)


def test_caller_identity_needs_no_permission(server, iam):
    u = make_user(iam, "nobody")
    try:
        assert u.client(server, "sts").get_caller_identity()["Arn"] == u.arn
    finally:
        delete_user_fully(iam, u.name)


def test_caller_identity_xml(server):
    resp = query_call(server, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert resp.status == 200, resp.body
    assert resp.header("Content-Type").startswith("text/xml")
    text = resp.body.decode()
    assert text.startswith(f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'), text
    assert f"<Arn>arn:aws:iam::{server.account_id}:root</Arn>" in text


# -- AssumeRole -------------------------------------------------------------------------


def test_assume_role_and_use_the_session(server, alice, role, account_id):
    before = utc_now()
    out = alice_sts(server, alice).assume_role(RoleArn=role["Arn"], RoleSessionName="build-42")
    creds, user = out["Credentials"], out["AssumedRoleUser"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40
    assert len(creds["SessionToken"]) >= 128
    # The default session lasts one hour.
    expires = creds["Expiration"]
    assert before + dt.timedelta(seconds=3600 - 5) <= expires <= utc_now() + dt.timedelta(seconds=3600 + 5)
    session_arn = f"arn:aws:sts::{account_id}:assumed-role/{role['RoleName']}/build-42"
    assert user == {"AssumedRoleId": f"{role['RoleId']}:build-42", "Arn": session_arn}

    me = session_client(server, "sts", creds).get_caller_identity()
    assert (me["UserId"], me["Account"], me["Arn"]) == (f"{role['RoleId']}:build-42", account_id, session_arn)

    # The session has the role's permissions and nothing more.
    kms = session_client(server, "kms", creds)
    assert "Keys" in kms.list_keys(Limit=1)
    with raises("AccessDeniedException", 400, mentions=(session_arn,)):
        kms.create_key()
    with raises("AccessDenied", 403, mentions=(f"User: {session_arn} is not authorized to perform: iam:ListUsers",)):
        session_client(server, "iam", creds).list_users()
    # A session is not a user: operations on "the caller's own user" need a name.
    with raises("ValidationError", 400, mentions=("Must specify userName when calling with non-User credentials",)):
        session_client(server, "iam", creds).get_user()


def test_duration_bounds(server, alice, role):
    sts = alice_sts(server, alice)
    before = utc_now()
    longest = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="long", DurationSeconds=7200)
    assert longest["Credentials"]["Expiration"] >= before + dt.timedelta(seconds=7200 - 5)
    shortest = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=900)
    assert shortest["Credentials"]["Expiration"] <= utc_now() + dt.timedelta(seconds=900 + 5)
    with raises("ValidationError", 400, mentions=(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",)):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="too-long", DurationSeconds=7201)
    raw = alice_sts(server, alice, validate=False)
    for duration in (899, 43201):
        with raises("ValidationError", 400, mentions=("'durationSeconds'",)):
            raw.assume_role(RoleArn=role["Arn"], RoleSessionName="bad", DurationSeconds=duration)


def test_role_chaining_is_limited_to_one_hour(server, iam, alice, role, account_id):
    # Role `second` trusts the first role; the first role's sessions may assume roles.
    second = make_role(iam, [role["Arn"]], "chained", MaxSessionDuration=7200)
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="chain",
                        PolicyDocument=json.dumps(allow("sts:AssumeRole")))
    try:
        first = alice_sts(server, alice).assume_role(RoleArn=role["Arn"], RoleSessionName="hop1")["Credentials"]
        sts = session_client(server, "sts", first)
        with raises("ValidationError", 400, mentions=(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",)):
            sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", DurationSeconds=3601)
        hop = sts.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")
        assert hop["Credentials"]["Expiration"] <= utc_now() + dt.timedelta(seconds=3600 + 5)
        me = session_client(server, "sts", hop["Credentials"]).get_caller_identity()
        assert me["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/{second['RoleName']}/hop2"
    finally:
        iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="chain")
        iam.delete_role(RoleName=second["RoleName"])


def test_root_may_not_assume_roles(server, role):
    with raises("AccessDenied", 403, mentions=("Roles may not be assumed by root accounts.",)):
        client("sts", server).assume_role(RoleArn=role["Arn"], RoleSessionName="root")


def test_untrusted_and_missing_roles_are_access_denied(server, iam, alice, role, account_id):
    other = make_user(iam, "stranger", policy=allow("sts:AssumeRole"))
    try:
        with raises("AccessDenied", 403, mentions=(
                f"User: {other.arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}",)):
            other.client(server, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="nope")
    finally:
        delete_user_fully(iam, other.name)
    missing = f"arn:aws:iam::{account_id}:role/{unique('ghost')}"
    with raises("AccessDenied", 403, mentions=(f"on resource: {missing}",)):
        alice_sts(server, alice).assume_role(RoleArn=missing, RoleSessionName="nope")
    # The right name under the wrong path does not name the role either.
    wrong_path = role["Arn"].replace(":role/", ":role/elsewhere/")
    with raises("AccessDenied", 403):
        alice_sts(server, alice).assume_role(RoleArn=wrong_path, RoleSessionName="nope")


def test_a_user_without_identity_permission_relies_on_the_trust_policy(server, iam):
    """Same account: a trust policy naming the user is enough (AWS's rule for
    resource-based policies that name the principal)."""
    plain = make_user(iam, "plain")
    try:
        named = make_role(iam, [plain.arn], "names-plain")
        try:
            out = plain.client(server, "sts").assume_role(RoleArn=named["Arn"], RoleSessionName="sess")
            assert out["AssumedRoleUser"]["Arn"].endswith(f"/{named['RoleName']}/sess")
        finally:
            iam.delete_role(RoleName=named["RoleName"])
    finally:
        delete_user_fully(iam, plain.name)


@pytest.mark.parametrize(
    ("kwargs", "member"),
    [
        ({"RoleSessionName": "a"}, "roleSessionName"),
        ({"RoleSessionName": "has space"}, "roleSessionName"),
        ({"RoleSessionName": "x" * 65}, "roleSessionName"),
        ({"RoleArn": "short"}, "roleArn"),
    ],
)
def test_assume_role_model_constraints(server, alice, role, kwargs, member):
    raw = alice_sts(server, alice, validate=False)
    params = {"RoleArn": role["Arn"], "RoleSessionName": "ok", **kwargs}
    with raises("ValidationError", 400, mentions=(f"'{member}'",)):
        raw.assume_role(**params)


@pytest.mark.parametrize("arn", ["arn:aws:iam::111122223333:user/someone", "arn:aws-cn:iam::111122223333:role/r",
                                 "arn:aws:sts::111122223333:role/some-role"])
def test_role_arns_must_name_a_role(server, alice, arn):
    with raises("ValidationError", 400):
        alice_sts(server, alice).assume_role(RoleArn=arn, RoleSessionName="sess")


@pytest.mark.parametrize(
    "extra",
    [
        {"Policy": json.dumps(allow("kms:ListKeys"))},
        {"PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]},
        {"Tags": [{"Key": "project", "Value": "x"}]},
        {"SerialNumber": "arn:aws:iam::111122223333:mfa/alice", "TokenCode": "123456"},
        {"SourceIdentity": "alice"},
    ],
)
def test_session_policies_tags_and_mfa_are_refused_not_ignored(server, alice, role, extra):
    with raises("UnsupportedOperation", 400):
        alice_sts(server, alice).assume_role(RoleArn=role["Arn"], RoleSessionName="sess", **extra)


# -- session credentials ----------------------------------------------------------------


def test_wrong_or_missing_session_tokens_are_refused(server, alice, role):
    sts = alice_sts(server, alice)
    a = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="tok-a")["Credentials"]
    b = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="tok-b")["Credentials"]
    tampered = dict(a, SessionToken=a["SessionToken"][:-4] + ("AAAA" if not a["SessionToken"].endswith("AAAA") else "BBBB"))
    for creds in (tampered, dict(a, SessionToken=b["SessionToken"])):
        with raises("InvalidClientTokenId", 403):
            session_client(server, "sts", creds).get_caller_identity()
        with raises("UnrecognizedClientException", 400):
            session_client(server, "kms", creds).list_keys()
    no_token = client("sts", server, a["AccessKeyId"], a["SecretAccessKey"])
    with raises("InvalidClientTokenId", 403):
        no_token.get_caller_identity()
    # Long-term keys take no token.
    with raises("InvalidClientTokenId", 403):
        client("sts", server, alice.access_key_id, alice.secret_access_key, a["SessionToken"]).get_caller_identity()
    # The untouched credentials still work.
    assert session_client(server, "sts", a).get_caller_identity()["Arn"].endswith("/tok-a")


def test_session_credentials_are_never_listed_as_access_keys(server, iam, alice, role):
    alice_sts(server, alice).assume_role(RoleArn=role["Arn"], RoleSessionName="unlisted")
    ids = [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]]
    ids += [k["AccessKeyId"] for k in iam.list_access_keys(UserName=alice.name)["AccessKeyMetadata"]]
    assert not [i for i in ids if i.startswith("ASIA")]


def test_sessions_expire(clock_server):
    """Time travel: the server's clock moves, signatures keep using real time."""
    server = clock_server
    iam = client("iam", server)
    user = make_user(iam, "expiring", policy=allow("sts:AssumeRole"))
    r = make_role(iam, [user.arn], "expiring")
    out = user.client(server, "sts").assume_role(RoleArn=r["Arn"], RoleSessionName="short", DurationSeconds=900)
    creds = out["Credentials"]
    sts = session_client(server, "sts", creds)
    assert sts.get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    server.advance_clock(800)
    assert sts.get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    server.advance_clock(101)
    with raises("ExpiredToken", 403, mentions=("The security token included in the request is expired",)):
        sts.get_caller_identity()
    with raises("ExpiredToken", 403):
        session_client(server, "iam", creds).list_users()
    with raises("ExpiredTokenException", 400):
        session_client(server, "kms", creds).list_keys()
    # A wrong token is still "invalid", not "expired": expiry is only told to its holder.
    with raises("InvalidClientTokenId", 403):
        session_client(server, "sts", dict(creds, SessionToken="A" * 128)).get_caller_identity()
    # Fresh credentials work again.
    again = user.client(server, "sts").assume_role(RoleArn=r["Arn"], RoleSessionName="again")["Credentials"]
    assert session_client(server, "sts", again).get_caller_identity()["Arn"].endswith("/again")
    # Seven days after expiry the scheduler deletes the session's key (and only that one: the
    # "again" session expired an hour later): from then on it is unknown, not expired.
    assert server.advance_clock(6 * 86400)["sessions"] == 0
    with raises("ExpiredToken", 403):
        sts.get_caller_identity()
    assert server.advance_clock(86400)["sessions"] == 1
    with raises("ExpiredToken", 403):
        session_client(server, "sts", again).get_caller_identity()
    with raises("InvalidClientTokenId", 403):
        sts.get_caller_identity()
    with raises("UnrecognizedClientException", 400):
        session_client(server, "kms", creds).list_keys()


def test_sessions_of_a_deleted_role_keep_no_permissions(server, iam, alice):
    r = make_role(iam, [alice.arn], "doomed")
    iam.put_role_policy(RoleName=r["RoleName"], PolicyName="kms", PolicyDocument=json.dumps(allow("kms:ListKeys")))
    creds = alice_sts(server, alice).assume_role(RoleArn=r["Arn"], RoleSessionName="sess")["Credentials"]
    kms = session_client(server, "kms", creds)
    assert "Keys" in kms.list_keys(Limit=1)
    iam.delete_role_policy(RoleName=r["RoleName"], PolicyName="kms")
    iam.delete_role(RoleName=r["RoleName"])
    # As in AWS: the credentials still authenticate until they expire, with no permissions.
    assert session_client(server, "sts", creds).get_caller_identity()["Arn"].endswith(f"/{r['RoleName']}/sess")
    with raises("AccessDeniedException", 400):
        kms.list_keys(Limit=1)


def test_sessions_do_not_gain_a_recreated_roles_permissions(server, iam, alice):
    r = make_role(iam, [alice.arn], "reborn")
    name = r["RoleName"]
    creds = alice_sts(server, alice).assume_role(RoleArn=r["Arn"], RoleSessionName="old")["Credentials"]
    iam.delete_role(RoleName=name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust(alice.arn)))
    iam.put_role_policy(RoleName=name, PolicyName="kms", PolicyDocument=json.dumps(allow("kms:ListKeys")))
    try:
        with raises("AccessDeniedException", 400):
            session_client(server, "kms", creds).list_keys(Limit=1)
    finally:
        iam.delete_role_policy(RoleName=name, PolicyName="kms")
        iam.delete_role(RoleName=name)


def test_assume_role_errors_are_xml(server, role):
    resp = query_call(server, "sts", {"Action": "AssumeRole", "Version": "2011-06-15",
                                      "RoleArn": role["Arn"], "RoleSessionName": "root"})
    assert resp.status == 403
    kind, code, message = xml_error(resp)
    assert (kind, code, message) == ("Sender", "AccessDenied", "Roles may not be assumed by root accounts.")
    assert resp.body.decode().startswith(f'<ErrorResponse xmlns="{STS_NS}">')
    # IAM actions are not STS actions.
    resp = query_call(server, "sts", {"Action": "ListUsers", "Version": "2011-06-15"})
    assert (resp.status, xml_error(resp)[1]) == (400, "InvalidAction")


# -- the AWS CLI ------------------------------------------------------------------------


def test_cli_assume_role_and_call_as_the_session(server, alice, role, account_id):
    as_alice = credentials_env(alice.access_key_id, alice.secret_access_key)
    out = aws_json(server, "sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli",
                   "--duration-seconds", "1800", env=as_alice)
    creds = out["Credentials"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/{role['RoleName']}/cli"
    as_session = credentials_env(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    me = aws_json(server, "sts", "get-caller-identity", env=as_session)
    assert me["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert me["UserId"] == f"{role['RoleId']}:cli"
    keys = aws_json(server, "kms", "list-keys", "--max-items", "1", env=as_session)
    assert "Keys" in keys
    denied = aws(server, "iam", "list-users", env=as_session, check=False)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    root = aws(server, "sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "root", check=False)
    assert root.returncode != 0 and "Roles may not be assumed by root accounts." in root.stderr
