"""IAM over the Query protocol: users, access keys, roles, inline policies and tags,
with boto3 and the AWS CLI.

Expected codes, statuses and limits come from botocore's IAM model (error shapes:
NoSuchEntity 404, EntityAlreadyExists 409, DeleteConflict 409, LimitExceeded 409,
MalformedPolicyDocument 400, InvalidInput 400) and the IAM API reference and quotas
page (2 access keys per user, 50 tags, 2,048 / 10,240 characters of inline policy
per user / role and 2,048 of trust policy, whitespace not counted). Messages quoted
exactly are AWS's own wording where it is known."""

from __future__ import annotations

import json

import pytest

from iam_sts_helpers import (
    FORM_CONTENT_TYPE,
    IAM_NS,
    aws,
    aws_json,
    allow,
    client,
    credentials_env,
    delete_user_fully,
    make_role,
    make_user,
    query_call,
    trust,
    xml_error,
)
from kms_helpers import build_request, raises_kms as raises, send_raw, unique
from strongroom_server import random_access_key_id, random_secret_access_key


@pytest.fixture(scope="module")
def iam(server):
    return client("iam", server)


@pytest.fixture(scope="module")
def iam_raw(server):
    """No client-side validation: the server's own checks are the subject."""
    return client("iam", server, validate=False)


@pytest.fixture(scope="module")
def sts(server):
    return client("sts", server)


def wait_refused(call, code: str, status: int) -> None:
    """A credential change is effective at once on this server: the very next call is
    refused with `code` and `status`."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        err = exc.response["Error"]
        assert (err["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), err
        return
    raise AssertionError(f"the call succeeded; expected {code}")


# -- users ------------------------------------------------------------------------------


def test_create_get_list_delete_user(iam, account_id):
    name = unique("user")
    created = iam.create_user(UserName=name, Path="/eng/team/", Tags=[{"Key": "Dept", "Value": "Eng"}])["User"]
    assert created["UserName"] == name
    assert created["Path"] == "/eng/team/"
    assert created["Arn"] == f"arn:aws:iam::{account_id}:user/eng/team/{name}"
    assert created["UserId"].startswith("AIDA") and len(created["UserId"]) >= 16
    assert created["Tags"] == [{"Key": "Dept", "Value": "Eng"}]

    got = iam.get_user(UserName=name)["User"]
    assert {k: got[k] for k in ("UserName", "Path", "Arn", "UserId", "CreateDate")} == {
        k: created[k] for k in ("UserName", "Path", "Arn", "UserId", "CreateDate")
    }
    assert got["Tags"] == [{"Key": "Dept", "Value": "Eng"}]
    # Names are matched case-insensitively; the stored spelling is returned.
    assert iam.get_user(UserName=name.upper())["User"]["UserName"] == name

    listed = iam.list_users(PathPrefix="/eng/")["Users"]
    assert name in [u["UserName"] for u in listed]
    assert all("Tags" not in u for u in listed), "ListUsers does not return tags"
    assert name not in [u["UserName"] for u in iam.list_users(PathPrefix="/ops/")["Users"]]

    iam.delete_user(UserName=name)
    with raises("NoSuchEntity", 404, mentions=(f"The user with name {name} cannot be found.",)):
        iam.get_user(UserName=name)
    with raises("NoSuchEntity", 404):
        iam.delete_user(UserName=name)


def test_get_user_without_name_describes_the_caller(server, iam, account_id):
    root = iam.get_user()["User"]
    assert root["UserId"] == account_id
    assert root["Arn"] == f"arn:aws:iam::{account_id}:root"
    assert "CreateDate" in root
    user = make_user(iam, "self", policy=allow("iam:GetUser"))
    try:
        me = user.client(server, "iam").get_user()["User"]
        assert (me["UserName"], me["Arn"], me["UserId"]) == (user.name, user.arn, user.user_id)
    finally:
        delete_user_fully(iam, user.name)


def test_user_names_are_unique_case_insensitively(iam):
    name = unique("Dup")
    iam.create_user(UserName=name)
    try:
        for clash in (name, name.lower(), name.upper()):
            with raises("EntityAlreadyExists", 409, mentions=(f"User with name {clash} already exists.",)):
                iam.create_user(UserName=clash)
    finally:
        iam.delete_user(UserName=name)


@pytest.mark.parametrize(
    ("kwargs", "member"),
    [
        ({"UserName": "has space"}, "userName"),
        ({"UserName": "x" * 65}, "userName"),
        ({"UserName": "slash/name"}, "userName"),
        ({"UserName": "ok-name", "Path": "no-slashes"}, "path"),
        ({"UserName": "ok-name", "Path": "/a b/"}, "path"),
        ({"UserName": "ok-name", "Path": "/" + "a" * 511 + "/"}, "path"),
    ],
)
def test_create_user_checks_the_model_constraints(iam_raw, kwargs, member):
    with raises("ValidationError", 400, mentions=(f"'{member}'",)):
        iam_raw.create_user(**kwargs)


def test_user_list_pages_with_marker(iam):
    prefix = f"/{unique('page')}/"
    names = sorted(unique("pg") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=prefix)
    try:
        seen, marker, pages = [], None, 0
        while True:
            kwargs = {"PathPrefix": prefix, "MaxItems": 2}
            if marker:
                kwargs["Marker"] = marker
            page = iam.list_users(**kwargs)
            pages += 1
            seen += [u["UserName"] for u in page["Users"]]
            if not page["IsTruncated"]:
                assert "Marker" not in page
                break
            assert len(page["Users"]) == 2
            marker = page["Marker"]
        assert seen == names
        assert pages == 3
        # The paginator follows markers itself.
        paginated = [u["UserName"] for p in iam.get_paginator("list_users").paginate(
            PathPrefix=prefix, PaginationConfig={"PageSize": 2}) for u in p["Users"]]
        assert paginated == names
    finally:
        for n in names:
            iam.delete_user(UserName=n)


def test_list_users_rejects_a_foreign_marker(iam):
    with raises("InvalidInput", 400):
        iam.list_users(Marker="not-a-marker-we-issued")


def test_permissions_boundary_is_refused_not_ignored(iam):
    with raises("UnsupportedOperation", 400, mentions=("PermissionsBoundary",)):
        iam.create_user(UserName=unique("pb"), PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess")


# -- access keys ------------------------------------------------------------------------


def test_access_key_lifecycle(server, iam):
    name = unique("keys")
    iam.create_user(UserName=name)
    try:
        first = iam.create_access_key(UserName=name)["AccessKey"]
        assert first["UserName"] == name
        assert first["Status"] == "Active"
        assert first["AccessKeyId"].startswith("AKIA") and len(first["AccessKeyId"]) == 20
        assert len(first["SecretAccessKey"]) == 40
        second = iam.create_access_key(UserName=name)["AccessKey"]
        with raises("LimitExceeded", 409, mentions=("Cannot exceed quota for AccessKeysPerUser: 2",)):
            iam.create_access_key(UserName=name)

        listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        assert sorted(k["AccessKeyId"] for k in listed) == sorted([first["AccessKeyId"], second["AccessKeyId"]])
        assert all(k["UserName"] == name and k["Status"] == "Active" for k in listed)
        assert all("SecretAccessKey" not in k for k in listed)

        sts = client("sts", server, first["AccessKeyId"], first["SecretAccessKey"])
        assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")

        iam.update_access_key(UserName=name, AccessKeyId=first["AccessKeyId"], Status="Inactive")
        statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
        assert statuses[first["AccessKeyId"]] == "Inactive"
        wait_refused(sts.get_caller_identity, "InvalidClientTokenId", 403)
        # The same refusal over KMS, in KMS's words.
        kms = client("kms", server, first["AccessKeyId"], first["SecretAccessKey"])
        with raises("UnrecognizedClientException", 400):
            kms.list_keys()

        iam.update_access_key(UserName=name, AccessKeyId=first["AccessKeyId"], Status="Active")
        assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")

        iam.delete_access_key(UserName=name, AccessKeyId=first["AccessKeyId"])
        wait_refused(sts.get_caller_identity, "InvalidClientTokenId", 403)
        with raises("NoSuchEntity", 404, mentions=(f"The Access Key with id {first['AccessKeyId']} cannot be found.",)):
            iam.delete_access_key(UserName=name, AccessKeyId=first["AccessKeyId"])
        # Room for a new key again.
        iam.create_access_key(UserName=name)
    finally:
        delete_user_fully(iam, name)


def test_access_key_must_belong_to_the_named_user(iam):
    a, b = make_user(iam, "owner"), make_user(iam, "other")
    try:
        with raises("NoSuchEntity", 404):
            iam.update_access_key(UserName=b.name, AccessKeyId=a.access_key_id, Status="Inactive")
        with raises("NoSuchEntity", 404):
            iam.delete_access_key(UserName=b.name, AccessKeyId=a.access_key_id)
        with raises("NoSuchEntity", 404):
            iam.list_access_keys(UserName=unique("ghost"))
        with raises("NoSuchEntity", 404):
            iam.create_access_key(UserName=unique("ghost"))
    finally:
        delete_user_fully(iam, a.name)
        delete_user_fully(iam, b.name)


def test_update_access_key_status_values(iam, iam_raw):
    u = make_user(iam, "status")
    try:
        with raises("InvalidInput", 400):
            iam.update_access_key(UserName=u.name, AccessKeyId=u.access_key_id, Status="Expired")
        with raises("ValidationError", 400, mentions=("'status'",)):
            iam_raw.update_access_key(UserName=u.name, AccessKeyId=u.access_key_id, Status="Paused")
        with raises("ValidationError", 400, mentions=("'accessKeyId'",)):
            iam_raw.update_access_key(UserName=u.name, AccessKeyId="AKIA-SHORT", Status="Active")
    finally:
        delete_user_fully(iam, u.name)


def test_a_user_manages_its_own_keys_without_naming_itself(server, iam):
    u = make_user(iam, "selfkeys", policy=allow(["iam:ListAccessKeys", "iam:CreateAccessKey",
                                                 "iam:UpdateAccessKey", "iam:DeleteAccessKey"]))
    try:
        own = u.client(server, "iam")
        listed = own.list_access_keys()["AccessKeyMetadata"]
        assert [(k["UserName"], k["AccessKeyId"]) for k in listed] == [(u.name, u.access_key_id)]
        new = own.create_access_key()["AccessKey"]
        assert new["UserName"] == u.name
        own.update_access_key(AccessKeyId=new["AccessKeyId"], Status="Inactive")
        own.delete_access_key(AccessKeyId=new["AccessKeyId"])
    finally:
        delete_user_fully(iam, u.name)


def test_root_lists_its_own_keys(server, iam):
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert server.access_key_id in [k["AccessKeyId"] for k in keys]
    assert all("UserName" not in k for k in keys)


def test_delete_user_conflicts_until_keys_and_policies_are_gone(server, iam):
    u = make_user(iam, "conflict")
    iam.put_user_policy(UserName=u.name, PolicyName="p", PolicyDocument=json.dumps(allow("iam:GetUser")))
    sts = client("sts", server, u.access_key_id, u.secret_access_key)
    assert sts.get_caller_identity()["UserId"] == u.user_id
    with raises("DeleteConflict", 409, mentions=("Cannot delete entity, must delete access keys first.",)):
        iam.delete_user(UserName=u.name)
    iam.delete_access_key(UserName=u.name, AccessKeyId=u.access_key_id)
    with raises("DeleteConflict", 409, mentions=("Cannot delete entity, must delete policies first.",)):
        iam.delete_user(UserName=u.name)
    iam.delete_user_policy(UserName=u.name, PolicyName="p")
    iam.delete_user(UserName=u.name)
    # The deleted user's key stays refused, and so it would be for a new user of that name.
    with raises("InvalidClientTokenId", 403):
        sts.get_caller_identity()
    iam.create_user(UserName=u.name)
    try:
        with raises("InvalidClientTokenId", 403):
            sts.get_caller_identity()
    finally:
        iam.delete_user(UserName=u.name)


# -- inline policies --------------------------------------------------------------------


def test_user_inline_policies(iam):
    u = make_user(iam, "inline")
    try:
        doc = allow(["kms:Encrypt", "kms:Decrypt"], "arn:aws:kms:*:*:key/*")
        iam.put_user_policy(UserName=u.name, PolicyName="crypto", PolicyDocument=json.dumps(doc))
        got = iam.get_user_policy(UserName=u.name, PolicyName="crypto")
        assert (got["UserName"], got["PolicyName"]) == (u.name, "crypto")
        assert got["PolicyDocument"] == doc  # botocore URL-decodes and parses it
        # Replacing keeps one policy of that name.
        iam.put_user_policy(UserName=u.name, PolicyName="crypto", PolicyDocument=json.dumps(allow("kms:Encrypt")))
        iam.put_user_policy(UserName=u.name, PolicyName="admin", PolicyDocument=json.dumps(allow("iam:*")))
        assert iam.list_user_policies(UserName=u.name)["PolicyNames"] == ["admin", "crypto"]
        page = iam.list_user_policies(UserName=u.name, MaxItems=1)
        assert page["PolicyNames"] == ["admin"] and page["IsTruncated"]
        rest = iam.list_user_policies(UserName=u.name, Marker=page["Marker"])
        assert rest["PolicyNames"] == ["crypto"] and not rest["IsTruncated"]
        iam.delete_user_policy(UserName=u.name, PolicyName="crypto")
        with raises("NoSuchEntity", 404, mentions=("The user policy with name crypto cannot be found.",)):
            iam.get_user_policy(UserName=u.name, PolicyName="crypto")
        with raises("NoSuchEntity", 404):
            iam.delete_user_policy(UserName=u.name, PolicyName="crypto")
        with raises("NoSuchEntity", 404):
            iam.put_user_policy(UserName=unique("ghost"), PolicyName="p", PolicyDocument=json.dumps(allow("iam:*")))
    finally:
        delete_user_fully(iam, u.name)


def test_policy_documents_keep_their_text(iam):
    """IAM returns the document URL-encoded; the text that was put comes back."""
    u = make_user(iam, "text")
    try:
        text = '{\n  "Version": "2012-10-17",\n  "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/a+b%&=?"}\n}'
        iam.put_user_policy(UserName=u.name, PolicyName="t", PolicyDocument=text)
        assert iam.get_user_policy(UserName=u.name, PolicyName="t")["PolicyDocument"] == json.loads(text)
    finally:
        delete_user_fully(iam, u.name)


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "iam:*", "Resource": "*"}]}),
        # Identity policies name no principal.
        json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "iam:*", "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*"}]}),
    ],
)
def test_malformed_user_policies_are_refused(iam, document):
    u = make_user(iam, "malformed")
    try:
        with raises("MalformedPolicyDocument", 400):
            iam.put_user_policy(UserName=u.name, PolicyName="bad", PolicyDocument=document)
        assert iam.list_user_policies(UserName=u.name)["PolicyNames"] == []
    finally:
        delete_user_fully(iam, u.name)


def padded_policy(size: int, filler_char: str = "a", *, indent: int | None = None) -> str:
    """An identity policy of exactly `size` characters not counting whitespace
    (with `indent`, pretty-printed: whitespace only between JSON tokens)."""
    doc = allow("iam:GetUser")
    compact_base = json.dumps(doc, separators=(",", ":"))
    filler = size - len(compact_base) - len('"Sid":"",')
    assert filler > 0
    doc["Statement"][0] = {"Sid": filler_char * filler, **doc["Statement"][0]}
    compact = json.dumps(doc, separators=(",", ":"))
    assert len(compact) == size, (len(compact), size)
    return compact if indent is None else json.dumps(doc, indent=indent)


def test_user_inline_policy_quota_is_2048_characters_without_whitespace(iam):
    u = make_user(iam, "quota")
    try:
        # Whitespace does not count: this document is 2,048 characters without it.
        spread = padded_policy(2048, indent=8)
        assert len(spread) > 2100
        iam.put_user_policy(UserName=u.name, PolicyName="big", PolicyDocument=spread)
        with raises("LimitExceeded", 409, mentions=(f"Maximum policy size of 2048 bytes exceeded for user {u.name}",)):
            iam.put_user_policy(UserName=u.name, PolicyName="more", PolicyDocument=json.dumps(allow("iam:*")))
        # Replacing the big policy is measured without its old version.
        iam.put_user_policy(UserName=u.name, PolicyName="big", PolicyDocument=padded_policy(1024))
        iam.put_user_policy(UserName=u.name, PolicyName="half", PolicyDocument=padded_policy(1024, "b"))
        with raises("LimitExceeded", 409):
            iam.put_user_policy(UserName=u.name, PolicyName="over", PolicyDocument=json.dumps(allow("iam:*")))
        with raises("LimitExceeded", 409):
            iam.put_user_policy(UserName=u.name, PolicyName="big", PolicyDocument=padded_policy(1025))
        assert sorted(iam.list_user_policies(UserName=u.name)["PolicyNames"]) == ["big", "half"]
    finally:
        delete_user_fully(iam, u.name)


def test_policy_document_model_constraints(iam_raw, iam):
    u = make_user(iam, "model")
    try:
        with raises("ValidationError", 400, mentions=("'policyDocument'",)):
            iam_raw.put_user_policy(UserName=u.name, PolicyName="p", PolicyDocument="{\"x\": \"\u0100\"}")
        with raises("ValidationError", 400, mentions=("'policyName'",)):
            iam_raw.put_user_policy(UserName=u.name, PolicyName="has space", PolicyDocument=json.dumps(allow("iam:*")))
    finally:
        delete_user_fully(iam, u.name)


# -- roles ------------------------------------------------------------------------------


def test_create_get_list_delete_role(iam, account_id):
    name = unique("role")
    doc = trust(f"arn:aws:iam::{account_id}:root")
    created = iam.create_role(RoleName=name, Path="/svc/", AssumeRolePolicyDocument=json.dumps(doc),
                              Description="for tests", MaxSessionDuration=7200,
                              Tags=[{"Key": "team", "Value": "kms"}])["Role"]
    assert created["Arn"] == f"arn:aws:iam::{account_id}:role/svc/{name}"
    assert created["RoleId"].startswith("AROA")
    assert created["AssumeRolePolicyDocument"] == doc
    assert created["MaxSessionDuration"] == 7200
    assert created["Description"] == "for tests"
    assert created["Tags"] == [{"Key": "team", "Value": "kms"}]

    got = iam.get_role(RoleName=name.upper())["Role"]
    assert (got["RoleName"], got["RoleId"], got["Arn"]) == (name, created["RoleId"], created["Arn"])
    assert got["AssumeRolePolicyDocument"] == doc
    assert got["RoleLastUsed"] == {}
    assert got["Tags"] == [{"Key": "team", "Value": "kms"}]

    listed = {r["RoleName"]: r for r in iam.list_roles(PathPrefix="/svc/")["Roles"]}
    assert listed[name]["MaxSessionDuration"] == 7200
    assert "Tags" not in listed[name]

    with raises("EntityAlreadyExists", 409, mentions=(f"Role with name {name.lower()} already exists.",)):
        iam.create_role(RoleName=name.lower(), AssumeRolePolicyDocument=json.dumps(doc))

    iam.delete_role(RoleName=name)
    with raises("NoSuchEntity", 404, mentions=(f"The role with name {name} cannot be found.",)):
        iam.get_role(RoleName=name)


def test_role_defaults(iam, account_id):
    role = make_role(iam, [f"arn:aws:iam::{account_id}:root"])
    try:
        assert role["Path"] == "/"
        assert role["MaxSessionDuration"] == 3600
        assert "Description" not in role
    finally:
        iam.delete_role(RoleName=role["RoleName"])


@pytest.mark.parametrize("duration", [3599, 43201])
def test_max_session_duration_range(iam_raw, account_id, duration):
    with raises("ValidationError", 400, mentions=("'maxSessionDuration'",)):
        iam_raw.create_role(RoleName=unique("dur"), MaxSessionDuration=duration,
                            AssumeRolePolicyDocument=json.dumps(trust(f"arn:aws:iam::{account_id}:root")))


@pytest.mark.parametrize(
    "document",
    [
        "{",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                            "Action": "sts:AssumeRole", "Resource": "*"}]}),
    ],
)
def test_malformed_trust_policies_are_refused(iam, document):
    name = unique("badtrust")
    with raises("MalformedPolicyDocument", 400):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)
    with raises("NoSuchEntity", 404):
        iam.get_role(RoleName=name)


def test_trust_policies_must_name_existing_principals(iam, account_id):
    ghost = f"arn:aws:iam::{account_id}:user/{unique('ghost')}"
    name = unique("ghosttrust")
    with raises("MalformedPolicyDocument", 400, mentions=(f'Invalid principal in policy: "AWS":"{ghost}"',)):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust(ghost)))
    with raises("NoSuchEntity", 404):
        iam.get_role(RoleName=name)
    u = make_user(iam, "pathed", path="/team/")
    try:
        # The right name under the wrong path names nobody.
        with raises("MalformedPolicyDocument", 400):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
                trust(f"arn:aws:iam::{account_id}:user/{u.name}")))
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            trust(u.arn, f"arn:aws:iam::{account_id}:root")))["Role"]
        assert role["RoleName"] == name
        iam.delete_role(RoleName=name)
    finally:
        delete_user_fully(iam, u.name)


def test_trust_policy_quota(iam, account_id):
    principals = [f"arn:aws:iam::{account_id}:user/{'u' * 40}{i:03d}" for i in range(60)]
    big = json.dumps(trust(*principals), separators=(",", ":"))
    assert len(big) > 2048
    with raises("LimitExceeded", 409, mentions=("Cannot exceed quota for ACLSizePerRole: 2048",)):
        iam.create_role(RoleName=unique("bigtrust"), AssumeRolePolicyDocument=big)


def test_role_inline_policies_and_their_quota(iam, account_id):
    role = make_role(iam, [f"arn:aws:iam::{account_id}:root"])
    name = role["RoleName"]
    try:
        doc = allow("kms:*")
        iam.put_role_policy(RoleName=name, PolicyName="kms", PolicyDocument=json.dumps(doc))
        got = iam.get_role_policy(RoleName=name, PolicyName="kms")
        assert (got["RoleName"], got["PolicyName"], got["PolicyDocument"]) == (name, "kms", doc)
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["kms"]
        # 10,240 characters in all for a role: four of 2,048 fit, a fifth of 2,049 does not.
        for i in range(4):
            iam.put_role_policy(RoleName=name, PolicyName=f"big{i}", PolicyDocument=padded_policy(2048))
        with raises("LimitExceeded", 409, mentions=(f"Maximum policy size of 10240 bytes exceeded for role {name}",)):
            iam.put_role_policy(RoleName=name, PolicyName="big4", PolicyDocument=padded_policy(2049))
        with raises("DeleteConflict", 409, mentions=("Cannot delete entity, must delete policies first.",)):
            iam.delete_role(RoleName=name)
        for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=p)
        with raises("NoSuchEntity", 404, mentions=("The role policy with name kms cannot be found.",)):
            iam.get_role_policy(RoleName=name, PolicyName="kms")
    finally:
        iam.delete_role(RoleName=name)


# -- tags -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["user", "role"])
def test_tags(iam, account_id, kind):
    if kind == "user":
        name = unique("tagged")
        iam.create_user(UserName=name)
        tag = lambda tags: iam.tag_user(UserName=name, Tags=tags)  # noqa: E731
        untag = lambda keys: iam.untag_user(UserName=name, TagKeys=keys)  # noqa: E731
        listing = lambda **kw: iam.list_user_tags(UserName=name, **kw)  # noqa: E731
        delete = lambda: iam.delete_user(UserName=name)  # noqa: E731
    else:
        name = make_role(iam, [f"arn:aws:iam::{account_id}:root"], "tagged")["RoleName"]
        tag = lambda tags: iam.tag_role(RoleName=name, Tags=tags)  # noqa: E731
        untag = lambda keys: iam.untag_role(RoleName=name, TagKeys=keys)  # noqa: E731
        listing = lambda **kw: iam.list_role_tags(RoleName=name, **kw)  # noqa: E731
        delete = lambda: iam.delete_role(RoleName=name)  # noqa: E731
    try:
        assert listing()["Tags"] == []
        tag([{"Key": "Dept", "Value": "Eng"}, {"Key": "cost center", "Value": ""}, {"Key": "é:ü/=+-@_.", "Value": "ok"}])
        assert {t["Key"]: t["Value"] for t in listing()["Tags"]} == {"Dept": "Eng", "cost center": "", "é:ü/=+-@_.": "ok"}
        # Keys are case-insensitive in IAM: this replaces Dept.
        tag([{"Key": "dept", "Value": "Ops"}])
        tags = {t["Key"]: t["Value"] for t in listing()["Tags"]}
        assert tags == {"dept": "Ops", "cost center": "", "é:ü/=+-@_.": "ok"}
        untag(["DEPT", "not-there"])
        assert "dept" not in {t["Key"] for t in listing()["Tags"]}

        page = listing(MaxItems=1)
        assert len(page["Tags"]) == 1 and page["IsTruncated"]
        assert len(listing(Marker=page["Marker"])["Tags"]) == 1

        with raises("InvalidInput", 400):
            tag([{"Key": "aws:reserved", "Value": "x"}])
        with raises("InvalidInput", 400, mentions=("Duplicate tag keys found",)):
            tag([{"Key": "Same", "Value": "1"}, {"Key": "same", "Value": "2"}])
        tag([{"Key": f"k{i:02d}", "Value": str(i)} for i in range(48)])
        assert len(listing(MaxItems=100)["Tags"]) == 50
        with raises("LimitExceeded", 409):
            tag([{"Key": "one-too-many", "Value": "x"}])
        # Re-tagging an existing key is not a new tag.
        tag([{"Key": "k00", "Value": "again"}])
    finally:
        delete()


def test_tag_constraints_and_missing_entities(iam_raw, iam):
    ghost = unique("ghost")
    with raises("NoSuchEntity", 404):
        iam.tag_user(UserName=ghost, Tags=[{"Key": "a", "Value": "b"}])
    with raises("NoSuchEntity", 404):
        iam.list_role_tags(RoleName=ghost)
    with raises("ValidationError", 400, mentions=("'tags.1.member.key'",)):
        iam_raw.tag_user(UserName=ghost, Tags=[{"Key": "bad*key", "Value": "b"}])
    with raises("ValidationError", 400, mentions=("'tags'",)):
        iam_raw.tag_user(UserName=ghost, Tags=[{"Key": f"k{i}", "Value": ""} for i in range(51)])
    with raises("ValidationError", 400, mentions=("'tags.1.member.value'",)):
        iam_raw.create_user(UserName=unique("tv"), Tags=[{"Key": "k", "Value": "v" * 257}])


# -- permissions (identity policies of non-root callers) ----------------------------------


def test_a_user_without_policies_may_not_manage_iam(server, iam):
    u = make_user(iam, "nopolicy")
    try:
        own = u.client(server, "iam")
        target = unique("denied")
        with raises("AccessDenied", 403, mentions=(
            f"User: {u.arn} is not authorized to perform: iam:CreateUser on resource: "
            f"arn:aws:iam::{server_account(server)}:user/{target}",
        )):
            own.create_user(UserName=target)
        with raises("AccessDenied", 403):
            own.list_users()
    finally:
        delete_user_fully(iam, u.name)


def test_a_user_allowed_iam_star_may(server, iam):
    u = make_user(iam, "admin", policy=allow("iam:*"))
    created = unique("byadmin")
    try:
        own = u.client(server, "iam")
        own.create_user(UserName=created)
        assert own.get_user(UserName=created)["User"]["UserName"] == created
        own.delete_user(UserName=created)
    finally:
        delete_user_fully(iam, u.name)


def test_a_user_allowed_only_some_users(server, iam):
    account = server_account(server)
    u = make_user(iam, "scoped", policy=allow("iam:CreateUser", f"arn:aws:iam::{account}:user/team/*"))
    try:
        own = u.client(server, "iam")
        inside = unique("in")
        own.create_user(UserName=inside, Path="/team/")
        iam.delete_user(UserName=inside)
        with raises("AccessDenied", 403):
            own.create_user(UserName=unique("out"))
    finally:
        delete_user_fully(iam, u.name)


def server_account(server) -> str:
    return server.account_id


# -- the wire ---------------------------------------------------------------------------


def test_responses_are_xml_with_the_request_id(server):
    resp = query_call(server, "iam", {"Action": "ListUsers", "Version": "2010-05-08", "MaxItems": "1"})
    assert resp.status == 200, resp.body
    assert resp.header("Content-Type").startswith("text/xml")
    request_id = resp.header("x-amzn-RequestId")
    assert request_id
    text = resp.body.decode()
    assert text.startswith(f'<ListUsersResponse xmlns="{IAM_NS}"><ListUsersResult>'), text
    assert f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>" in text


def test_errors_are_xml_error_responses(server):
    resp = query_call(server, "iam", {"Action": "GetUser", "Version": "2010-05-08", "UserName": unique("none")})
    assert resp.status == 404
    assert resp.header("Content-Type").startswith("text/xml")
    kind, code, message = xml_error(resp)
    assert (kind, code) == ("Sender", "NoSuchEntity")
    assert "cannot be found" in message


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Action": "CreateGroupX", "Version": "2010-05-08"}, "InvalidAction"),
        ({"Action": "AssumeRole", "Version": "2010-05-08"}, "InvalidAction"),  # an STS action
        ({"Action": "ListUsers", "Version": "2011-06-15"}, "InvalidAction"),
        ({"Version": "2010-05-08"}, "MissingAction"),
    ],
)
def test_unknown_actions(server, params, code):
    resp = query_call(server, "iam", params)
    assert resp.status == 400, resp.body
    assert xml_error(resp)[1] == code


@pytest.mark.parametrize(
    "body",
    [b"Action=ListUsers&Version=2010-05-08&Bad=%ZZ", b"Action=ListUsers&Action=GetUser",
     b"Action=ListUsers&Version=2010-05-08&P=%FF", "Action=ListUsers&é=1".encode()],
)
def test_malformed_forms_are_refused(server, body):
    resp = query_call(server, "iam", body)
    assert resp.status == 400, resp.body
    assert xml_error(resp)[1] == "MalformedQueryString"


def test_authentication_failures_use_query_codes(server):
    params = {"Action": "ListUsers", "Version": "2010-05-08"}
    unsigned = query_call(server, "iam", params, signed=False)
    assert (unsigned.status, xml_error(unsigned)[1]) == (403, "MissingAuthenticationToken")
    unknown = query_call(server, "iam", params, access_key_id=random_access_key_id(),
                         secret_access_key=random_secret_access_key())
    assert (unknown.status, xml_error(unknown)[1]) == (403, "InvalidClientTokenId")
    assert xml_error(unknown)[2] == "The security token included in the request is invalid."
    wrong_secret = query_call(server, "iam", params, secret_access_key=random_secret_access_key())
    assert (wrong_secret.status, xml_error(wrong_secret)[1]) == (403, "SignatureDoesNotMatch")
    # A form signed for KMS is not an IAM request.
    kms_scoped = query_call(server, "iam", params, scope_service="kms")
    assert (kms_scoped.status, xml_error(kms_scoped)[1]) == (403, "SignatureDoesNotMatch")
    assert "iam" in xml_error(kms_scoped)[2]


def test_a_target_header_keeps_a_request_on_kms(server):
    """Routing: X-Amz-Target means KMS whatever the content type says."""
    headers, body = build_request(server.endpoint, "ListKeys", b"{}", access_key_id=server.access_key_id,
                                  secret_access_key=server.secret_access_key, region=server.region,
                                  extra_headers={"Content-Type": FORM_CONTENT_TYPE})
    resp = send_raw(server.endpoint, headers, body)
    assert resp.status == 200, resp.body
    assert "Keys" in resp.json
    assert resp.header("Content-Type").startswith("application/x-amz-json-1.1")


# -- the AWS CLI ------------------------------------------------------------------------


def test_cli_user_key_and_policy_round_trip(server, tmp_path):
    name = unique("cli")
    created = aws_json(server, "iam", "create-user", "--user-name", name, "--tags", "Key=team,Value=cli")["User"]
    assert created["UserName"] == name
    try:
        assert name in [u["UserName"] for u in aws_json(server, "iam", "list-users")["Users"]]
        doc = allow("sts:GetCallerIdentity")
        (tmp_path / "policy.json").write_text(json.dumps(doc))
        aws(server, "iam", "put-user-policy", "--user-name", name, "--policy-name", "cli",
            "--policy-document", f"file://{tmp_path / 'policy.json'}")
        got = aws_json(server, "iam", "get-user-policy", "--user-name", name, "--policy-name", "cli")
        assert got["PolicyDocument"] == doc
        key = aws_json(server, "iam", "create-access-key", "--user-name", name)["AccessKey"]
        me = aws_json(server, "sts", "get-caller-identity",
                      env=credentials_env(key["AccessKeyId"], key["SecretAccessKey"]))
        assert me["Arn"] == created["Arn"]
        assert me["UserId"] == created["UserId"]
        aws(server, "iam", "update-access-key", "--user-name", name, "--access-key-id", key["AccessKeyId"],
            "--status", "Inactive")
        refused = aws(server, "sts", "get-caller-identity", check=False,
                      env=credentials_env(key["AccessKeyId"], key["SecretAccessKey"]))
        assert refused.returncode != 0
        assert "InvalidClientTokenId" in refused.stderr
        conflict = aws(server, "iam", "delete-user", "--user-name", name, check=False)
        assert conflict.returncode != 0 and "DeleteConflict" in conflict.stderr
    finally:
        delete_user_fully(client("iam", server), name)
    missing = aws(server, "iam", "get-user", "--user-name", name, check=False)
    assert missing.returncode != 0
    assert "NoSuchEntity" in missing.stderr


def test_cli_roles_and_tags(server, account_id, tmp_path):
    name = unique("clirole")
    (tmp_path / "trust.json").write_text(json.dumps(trust(f"arn:aws:iam::{account_id}:root")))
    role = aws_json(server, "iam", "create-role", "--role-name", name, "--assume-role-policy-document",
                    f"file://{tmp_path / 'trust.json'}", "--max-session-duration", "7200")["Role"]
    try:
        assert role["MaxSessionDuration"] == 7200
        aws(server, "iam", "tag-role", "--role-name", name, "--tags", "Key=a,Value=1", "Key=b,Value=2")
        tags = aws_json(server, "iam", "list-role-tags", "--role-name", name)["Tags"]
        assert tags == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
        aws(server, "iam", "untag-role", "--role-name", name, "--tag-keys", "a")
        assert aws_json(server, "iam", "list-role-tags", "--role-name", name)["Tags"] == [{"Key": "b", "Value": "2"}]
        got = aws_json(server, "iam", "get-role", "--role-name", name)["Role"]
        assert got["AssumeRolePolicyDocument"] == trust(f"arn:aws:iam::{account_id}:root")
    finally:
        aws(server, "iam", "delete-role", "--role-name", name)
