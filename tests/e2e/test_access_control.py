"""Access control with AWS semantics: IAM users, roles and inline policies, STS
sessions, key policies, grants, condition keys, a second account, the key
policy lockout safety check and what an AccessDeniedException may say.

The spec is AWS's documentation; each test names the page it follows where the
behaviour is not the obvious reading of the API reference:

* KMS "Key policies", "Default key policy", "Allowing users in other accounts
  to use a KMS key", "Grants in AWS KMS", "Creating grants", "Managing grants",
  "Condition keys for AWS KMS", "ABAC for AWS KMS".
* IAM "Policy evaluation logic" (an Allow naming the principal directly in a
  role trust policy or key policy needs no identity policy; an account-level
  Allow delegates to IAM), "IAM JSON policy elements", "AWS global condition
  context keys".
* STS AssumeRole / GetCallerIdentity API references.

Strongroom is strongly consistent: every change below is asserted on the very
next request, without waiting.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from access_helpers import (
    KEY_ADMIN_ACTIONS,
    KEY_USER_ACTIONS,
    LOCKOUT_MESSAGE,
    Account,
    Creds,
    Principal,
    allow,
    aws,
    aws_json,
    client,
    create_account,
    deny,
    denied,
    doc,
    encrypt,
    key_policy,
    query_error,
    trust,
)
from kms_helpers import default_policy, error_of, find_secret, raises_kms, unique, unique_alias
from strongroom_server import ACCOUNT_ID

PLAINTEXT = b"access control"
GONE_GRANT = {"NotFoundException", "InvalidGrantIdException"}


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(scope="module")
def acct(server) -> Account:
    """The dev account of the shared server, through its root credentials."""
    return Account(server.endpoint, server.account_id,
                   Creds(server.access_key_id, server.secret_access_key))


@pytest.fixture(scope="module")
def other(server, strongroom_bin) -> Account:
    """A second account on the shared server (`strongroom admin create-account`,
    run while the server is up)."""
    made = create_account(strongroom_bin, server.data_dir)
    assert re.fullmatch(r"\d{12}", made["AccountId"]), made
    assert made["AccountId"] != server.account_id
    return Account(server.endpoint, made["AccountId"], Creds(made["AccessKeyId"], made["SecretAccessKey"]))


@pytest.fixture
def root(acct) -> Principal:
    return acct.root


def new_key(acct: Account, policy: str | None = None, **kwargs) -> dict:
    if policy is not None:
        kwargs["Policy"] = policy
    kwargs.setdefault("Description", unique("ac"))
    return acct.kms.create_key(**kwargs)["KeyMetadata"]


def roundtrip(principal: Principal, key_id: str, context: dict | None = None, **kw) -> None:
    """Encrypt and decrypt as `principal`; the plaintext must come back."""
    ctx = {} if context is None else {"EncryptionContext": context}
    blob = principal.kms.encrypt(KeyId=key_id, Plaintext=PLAINTEXT, **ctx, **kw)["CiphertextBlob"]
    out = principal.kms.decrypt(CiphertextBlob=blob, KeyId=key_id, **ctx, **kw)
    assert out["Plaintext"] == PLAINTEXT


def key_state(acct: Account, key_id: str) -> str:
    return acct.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


def key_ids(kms) -> set[str]:
    return {k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]}


# =====================================================================================
# IAM and STS basics the rest relies on
# =====================================================================================


def test_root_caller_identity(acct):
    ident = acct.root.sts.get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert ident["UserId"] == ACCOUNT_ID


def test_create_user_access_key_and_caller_identity(acct):
    name = unique("ident")
    user = acct.iam.create_user(UserName=name)["User"]
    assert user["UserName"] == name
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    assert user["Path"] == "/"
    # IAM unique ids: AIDA for users (the API allows 16-128 characters; AWS's own are 21)
    assert re.fullmatch(r"AIDA[A-Z0-9]{12,124}", user["UserId"]), user["UserId"]
    assert isinstance(user["CreateDate"], dt.datetime)
    assert acct.iam.get_user(UserName=name)["User"]["UserId"] == user["UserId"]

    key = acct.iam.create_access_key(UserName=name)["AccessKey"]
    assert key["UserName"] == name
    assert key["Status"] == "Active"
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key["AccessKeyId"]), key["AccessKeyId"]
    assert len(key["SecretAccessKey"]) == 40

    me = client("sts", acct.endpoint, Creds(key["AccessKeyId"], key["SecretAccessKey"])).get_caller_identity()
    assert me == {"UserId": user["UserId"], "Account": ACCOUNT_ID, "Arn": user["Arn"],
                  "ResponseMetadata": me["ResponseMetadata"]}

    listed = acct.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"], k["UserName"]) for k in listed] == [(key["AccessKeyId"], "Active", name)]
    assert all("SecretAccessKey" not in k for k in listed)
    names = {u["UserName"] for page in acct.iam.get_paginator("list_users").paginate() for u in page["Users"]}
    assert name in names


def test_duplicate_user_and_unknown_user(acct):
    name = unique("dup")
    acct.iam.create_user(UserName=name)
    with query_error("EntityAlreadyExists", 409):
        acct.iam.create_user(UserName=name)
    with query_error("NoSuchEntity", 404):
        acct.iam.get_user(UserName=unique("missing"))


def test_inline_user_policies_round_trip(acct):
    user = acct.create_user("pol")
    document = doc(allow(["kms:Encrypt", "kms:Decrypt"], f"arn:aws:kms:*:{ACCOUNT_ID}:key/*", sid="UseKeys"))
    acct.put_user_policy(user.name, "use-keys", document)
    acct.put_user_policy(user.name, "describe", doc(allow("kms:DescribeKey")))
    got = acct.iam.get_user_policy(UserName=user.name, PolicyName="use-keys")
    assert got["UserName"] == user.name
    assert got["PolicyName"] == "use-keys"
    assert got["PolicyDocument"] == document  # botocore URL-decodes and parses it
    assert sorted(acct.iam.list_user_policies(UserName=user.name)["PolicyNames"]) == ["describe", "use-keys"]
    acct.iam.delete_user_policy(UserName=user.name, PolicyName="describe")
    assert acct.iam.list_user_policies(UserName=user.name)["PolicyNames"] == ["use-keys"]
    with query_error("NoSuchEntity", 404):
        acct.iam.get_user_policy(UserName=user.name, PolicyName="describe")


def test_malformed_identity_policy_is_refused(acct):
    user = acct.create_user("malformed")
    with query_error("MalformedPolicyDocument", 400):
        acct.iam.put_user_policy(UserName=user.name, PolicyName="bad", PolicyDocument="{not json")
    with query_error("MalformedPolicyDocument", 400):
        acct.iam.put_user_policy(UserName=user.name, PolicyName="bad",
                                 PolicyDocument=json.dumps(doc({"Effect": "Perhaps", "Action": "kms:*",
                                                                "Resource": "*"})))
    assert acct.iam.list_user_policies(UserName=user.name)["PolicyNames"] == []


def test_user_tags(acct):
    user = acct.create_user("tags", tags={"Project": "alpha"})
    acct.iam.tag_user(UserName=user.name, Tags=[{"Key": "Team", "Value": "blue"}])
    tags = acct.iam.list_user_tags(UserName=user.name)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("Project", "alpha"), ("Team", "blue")]
    acct.iam.untag_user(UserName=user.name, TagKeys=["Project"])
    assert acct.iam.list_user_tags(UserName=user.name)["Tags"] == [{"Key": "Team", "Value": "blue"}]


def test_inactive_and_deleted_access_keys_stop_working(acct):
    user = acct.create_user("keys", policies={"kms": doc(allow("kms:ListKeys"))})
    user.kms.list_keys()
    acct.iam.update_access_key(UserName=user.name, AccessKeyId=user.creds.access_key_id, Status="Inactive")
    # An inactive key is an unknown one: KMS (JSON protocol) answers UnrecognizedClientException,
    # STS (query protocol) InvalidClientTokenId.
    with raises_kms("UnrecognizedClientException"):
        client("kms", acct.endpoint, user.creds).list_keys()
    with query_error("InvalidClientTokenId"):
        client("sts", acct.endpoint, user.creds).get_caller_identity()
    acct.iam.update_access_key(UserName=user.name, AccessKeyId=user.creds.access_key_id, Status="Active")
    client("kms", acct.endpoint, user.creds).list_keys()
    acct.iam.delete_access_key(UserName=user.name, AccessKeyId=user.creds.access_key_id)
    with raises_kms("UnrecognizedClientException"):
        client("kms", acct.endpoint, user.creds).list_keys()
    assert acct.iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"] == []


def test_delete_user_needs_its_keys_and_policies_gone_first(acct):
    user = acct.create_user("del", policies={"p": doc(allow("kms:ListKeys"))})
    with query_error("DeleteConflict", 409):
        acct.iam.delete_user(UserName=user.name)
    acct.iam.delete_user_policy(UserName=user.name, PolicyName="p")
    acct.iam.delete_access_key(UserName=user.name, AccessKeyId=user.creds.access_key_id)
    acct.iam.delete_user(UserName=user.name)
    with query_error("NoSuchEntity", 404):
        acct.iam.get_user(UserName=user.name)


def test_role_crud(acct):
    trust_doc = trust(acct.root_arn)
    role = acct.create_role("crud", trust=trust_doc, tags={"Project": "alpha"},
                            policies={"use": doc(allow("kms:Encrypt"))})
    assert re.fullmatch(r"AROA[A-Z0-9]{12,124}", role.role_id), role.role_id
    got = acct.iam.get_role(RoleName=role.name)["Role"]
    assert got["Arn"] == role.arn
    assert got["AssumeRolePolicyDocument"] == trust_doc
    assert got["MaxSessionDuration"] == 3600
    assert acct.iam.list_role_policies(RoleName=role.name)["PolicyNames"] == ["use"]
    assert acct.iam.get_role_policy(RoleName=role.name, PolicyName="use")["PolicyDocument"] == doc(allow("kms:Encrypt"))
    acct.iam.tag_role(RoleName=role.name, Tags=[{"Key": "Team", "Value": "red"}])
    acct.iam.untag_role(RoleName=role.name, TagKeys=["Project"])
    assert acct.iam.list_role_tags(RoleName=role.name)["Tags"] == [{"Key": "Team", "Value": "red"}]
    names = {r["RoleName"] for page in acct.iam.get_paginator("list_roles").paginate() for r in page["Roles"]}
    assert role.name in names
    with query_error("DeleteConflict", 409):
        acct.iam.delete_role(RoleName=role.name)
    acct.iam.delete_role_policy(RoleName=role.name, PolicyName="use")
    acct.iam.delete_role(RoleName=role.name)
    with query_error("NoSuchEntity", 404):
        acct.iam.get_role(RoleName=role.name)


# =====================================================================================
# 1. key administrators and key users (AWS's example key policy statements)
# =====================================================================================


@pytest.fixture
def admin_and_user(acct):
    admin = acct.create_user("keyadmin")
    user = acct.create_user("keyuser")
    policy = key_policy(
        ACCOUNT_ID,
        allow(KEY_ADMIN_ACTIONS, principal=admin.arn, sid="Allow access for Key Administrators"),
        allow(KEY_USER_ACTIONS, principal=user.arn, sid="Allow use of the key"),
    )
    key = new_key(acct, policy)
    return admin, user, key, policy


def test_key_administrator_manages_but_cannot_use_the_key(acct, admin_and_user):
    admin, _, key, policy = admin_and_user
    kid = key["KeyId"]
    assert admin.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyId"] == kid
    admin.kms.disable_key(KeyId=kid)
    assert key_state(acct, kid) == "Disabled"
    admin.kms.enable_key(KeyId=kid)
    admin.kms.update_key_description(KeyId=kid, Description="by the admin")
    admin.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "owner", "TagValue": "admin"}])
    assert admin.kms.list_resource_tags(KeyId=kid)["Tags"] == [{"TagKey": "owner", "TagValue": "admin"}]
    admin.kms.untag_resource(KeyId=kid, TagKeys=["owner"])
    assert json.loads(admin.kms.get_key_policy(KeyId=kid)["Policy"]) == json.loads(policy)
    admin.kms.put_key_policy(KeyId=kid, Policy=policy)
    admin.kms.enable_key_rotation(KeyId=kid)
    assert admin.kms.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"] is True
    admin.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    assert key_state(acct, kid) == "PendingDeletion"
    admin.kms.cancel_key_deletion(KeyId=kid)
    admin.kms.enable_key(KeyId=kid)
    assert key_state(acct, kid) == "Enabled"

    with denied(admin, "kms:Encrypt"):
        encrypt(admin, kid)
    blob = acct.kms.encrypt(KeyId=kid, Plaintext=PLAINTEXT)["CiphertextBlob"]
    with denied(admin, "kms:Decrypt"):
        admin.kms.decrypt(CiphertextBlob=blob)
    with denied(admin, "kms:GenerateDataKey"):
        admin.kms.generate_data_key(KeyId=kid, KeySpec="AES_256")


def test_key_user_uses_but_cannot_manage_the_key(acct, admin_and_user):
    _, user, key, policy = admin_and_user
    kid = key["KeyId"]
    roundtrip(user, kid, {"purpose": "e2e"})
    data_key = user.kms.generate_data_key(KeyId=kid, KeySpec="AES_256")
    assert user.kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    user.kms.generate_data_key_without_plaintext(KeyId=kid, NumberOfBytes=16)
    blob = user.kms.encrypt(KeyId=kid, Plaintext=PLAINTEXT)["CiphertextBlob"]
    again = user.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=kid)
    assert user.kms.decrypt(CiphertextBlob=again["CiphertextBlob"])["Plaintext"] == PLAINTEXT
    assert user.kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["Arn"] == key["Arn"]

    with denied(user, "kms:DisableKey"):
        user.kms.disable_key(KeyId=kid)
    with denied(user, "kms:PutKeyPolicy"):
        user.kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=key_policy(ACCOUNT_ID))
    with denied(user, "kms:ScheduleKeyDeletion"):
        user.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    with denied(user, "kms:GetKeyPolicy"):
        user.kms.get_key_policy(KeyId=kid, PolicyName="default")
    with denied(user, "kms:TagResource"):
        user.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "k", "TagValue": "v"}])
    # nothing the refusals touched changed
    meta = acct.kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled"
    assert json.loads(acct.kms.get_key_policy(KeyId=kid)["Policy"]) == json.loads(policy)
    assert acct.kms.list_resource_tags(KeyId=kid)["Tags"] == []


def test_key_user_cannot_reencrypt_to_a_key_it_may_not_use(acct, admin_and_user):
    """ReEncrypt needs kms:ReEncryptFrom on the source and kms:ReEncryptTo on the destination."""
    _, user, key, _ = admin_and_user
    elsewhere = new_key(acct)
    blob = user.kms.encrypt(KeyId=key["KeyId"], Plaintext=PLAINTEXT)["CiphertextBlob"]
    with denied(user, "kms:ReEncryptTo"):
        user.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=elsewhere["KeyId"])


# =====================================================================================
# 2. no policy, delegation to IAM, direct grants in the key policy, explicit Deny
# =====================================================================================


def test_user_without_policies_is_denied_everything_but_get_caller_identity(acct):
    key = new_key(acct)
    user = acct.create_user("nothing")
    me = user.sts.get_caller_identity()
    assert me["Arn"] == user.arn and me["Account"] == ACCOUNT_ID and me["UserId"] == user.user_id

    with denied(user, "kms:ListKeys"):
        user.kms.list_keys()
    with denied(user, "kms:ListAliases"):
        user.kms.list_aliases()
    with denied(user, "kms:CreateKey"):
        user.kms.create_key()
    with denied(user, "kms:GenerateRandom"):
        user.kms.generate_random(NumberOfBytes=16)
    with denied(user, "kms:DescribeKey"):
        user.kms.describe_key(KeyId=key["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["Arn"])
    with denied(user, "kms:CreateGrant"):
        user.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user.arn, Operations=["Encrypt"])
    with query_error("AccessDenied", 403) as info:
        user.iam.list_users()
    assert user.arn in error_of(info.value)[1]
    with query_error("AccessDenied", 403):
        user.iam.get_user(UserName=user.name)
    with query_error("AccessDenied", 403):
        user.iam.create_user(UserName=unique("escalate"))
    with query_error("AccessDenied", 403):
        user.iam.put_user_policy(UserName=user.name, PolicyName="escalate",
                                 PolicyDocument=json.dumps(doc(allow("*"))))
    assert acct.iam.list_user_policies(UserName=user.name)["PolicyNames"] == []


def test_identity_policy_works_through_the_default_key_policy(acct):
    key = new_key(acct)
    other_key = new_key(acct)
    user = acct.create_user("delegated", policies={
        "use-one-key": doc(allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], key["Arn"]))})
    roundtrip(user, key["KeyId"])
    assert user.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    with denied(user, "kms:Encrypt"):
        encrypt(user, other_key["KeyId"])
    with denied(user, "kms:DisableKey"):
        user.kms.disable_key(KeyId=key["KeyId"])
    # removing the identity policy removes the access on the next request
    acct.iam.delete_user_policy(UserName=user.name, PolicyName="use-one-key")
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_identity_policy_with_wildcards_and_account_level_actions(acct):
    user = acct.create_user("wild", policies={"all-kms": doc(allow("kms:*"))})
    key = new_key(acct)
    assert key["KeyId"] in key_ids(user.kms)  # ListKeys lists every key of the account
    created = user.kms.create_key(Description=unique("by-user"))["KeyMetadata"]
    roundtrip(user, created["KeyId"])
    roundtrip(user, key["KeyId"])
    assert len(user.kms.generate_random(NumberOfBytes=8)["Plaintext"]) == 8


def test_action_names_are_case_insensitive(acct):
    key = new_key(acct)
    user = acct.create_user("case", policies={"p": doc(allow("KMS:encrypt", key["Arn"]))})
    encrypt(user, key["KeyId"])
    with denied(user, "kms:Decrypt"):
        user.kms.decrypt(CiphertextBlob=acct.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"])


def test_account_id_principal_delegates_like_the_root_arn(acct):
    user = acct.create_user("acctid", policies={"p": doc(allow(["kms:Encrypt", "kms:Decrypt"]))})
    policy = json.dumps(doc(allow("kms:*", principal=ACCOUNT_ID)))
    key = new_key(acct, policy)
    roundtrip(user, key["KeyId"])


def test_key_policy_naming_the_user_needs_no_identity_policy(acct):
    user = acct.create_user("direct")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(["kms:Encrypt", "kms:Decrypt"], principal=user.arn)))
    roundtrip(user, key["KeyId"])
    with denied(user, "kms:DescribeKey"):
        user.kms.describe_key(KeyId=key["KeyId"])
    other_key = new_key(acct)
    with denied(user, "kms:Encrypt"):
        encrypt(user, other_key["KeyId"])


def test_key_policy_is_authoritative_over_identity_policies(acct):
    """Without an Allow for the account (or the user) in the key policy, an IAM
    policy allowing kms:* does nothing for that key."""
    user = acct.create_user("authoritative", policies={"all": doc(allow("kms:*"))})
    # The account keeps only policy management (so the lockout check passes for root).
    policy = json.dumps(doc(allow(["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"],
                                  principal=acct.root_arn)))
    key = new_key(acct, policy)
    assert user.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])
    with denied(acct.root, "kms:Encrypt"):
        encrypt(acct.root, key["KeyId"])
    with denied(user, "kms:DisableKey"):
        user.kms.disable_key(KeyId=key["KeyId"])
    # Put the root statement back: both are allowed again at once.
    acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=key_policy(ACCOUNT_ID))
    roundtrip(user, key["KeyId"])


def test_identity_deny_overrides_key_policy_allow(acct):
    user = acct.create_user("iamdeny")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(["kms:Encrypt", "kms:Decrypt"], principal=user.arn)))
    roundtrip(user, key["KeyId"])
    acct.put_user_policy(user.name, "no-encrypt", doc(deny("kms:Encrypt")))
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])
    blob = acct.kms.encrypt(KeyId=key["KeyId"], Plaintext=PLAINTEXT)["CiphertextBlob"]
    assert user.kms.decrypt(CiphertextBlob=blob)["Plaintext"] == PLAINTEXT


def test_key_policy_deny_overrides_identity_allow(acct):
    user = acct.create_user("keydeny", policies={"all": doc(allow("kms:*"))})
    key = new_key(acct, key_policy(ACCOUNT_ID, deny("kms:Encrypt", principal=user.arn)))
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])
    user.kms.describe_key(KeyId=key["KeyId"])
    encrypt(acct.root, key["KeyId"])  # the Deny names the user only


def test_key_policy_deny_for_the_account_binds_root_too(acct):
    key = new_key(acct, key_policy(ACCOUNT_ID, deny("kms:Encrypt", principal=acct.root_arn)))
    with denied(acct.root, "kms:Encrypt"):
        encrypt(acct.root, key["KeyId"])
    user = acct.create_user("acctdeny", policies={"all": doc(allow("kms:*"))})
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])
    assert acct.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_not_action_in_a_deny(acct):
    user = acct.create_user("notaction", policies={
        "all": doc(allow("kms:*"), deny(["kms:DescribeKey", "kms:ListKeys"], not_actions=True))})
    key = new_key(acct)
    assert user.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    user.kms.list_keys()
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_aws_managed_keys_cannot_be_used_directly(acct):
    """The policy of alias/aws/* keys allows use only through the service
    (kms:ViaService), which never applies here; metadata stays readable."""
    meta = acct.kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    with denied(acct.root, "kms:Encrypt"):
        encrypt(acct.root, "alias/aws/s3")
    with denied(acct.root, "kms:GenerateDataKey"):
        acct.kms.generate_data_key(KeyId="alias/aws/s3", KeySpec="AES_256")
    policy = json.loads(acct.kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    assert any("kms:ViaService" in json.dumps(s.get("Condition", {})) for s in policy["Statement"])
    user = acct.create_user("managed", policies={"all": doc(allow("kms:*"))})
    with denied(user, "kms:Encrypt"):
        encrypt(user, "alias/aws/s3")


# =====================================================================================
# 3. encryption context conditions
# =====================================================================================


def test_encryption_context_string_equals_on_encrypt_and_decrypt(acct):
    user = acct.create_user("ctx")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        ["kms:Encrypt", "kms:Decrypt"], principal=user.arn,
        condition={"StringEquals": {"kms:EncryptionContext:Department": "IT"}})))
    kid = key["KeyId"]
    roundtrip(user, kid, {"Department": "IT"})
    roundtrip(user, kid, {"Department": "IT", "Purpose": "Test"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid, {"Department": "HR"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid, {"Department": "it"})  # values are case-sensitive
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid)
    hr = acct.kms.encrypt(KeyId=kid, Plaintext=PLAINTEXT, EncryptionContext={"Department": "HR"})["CiphertextBlob"]
    # authorization comes before the ciphertext check: AccessDenied, not InvalidCiphertext
    with denied(user, "kms:Decrypt"):
        user.kms.decrypt(CiphertextBlob=hr, EncryptionContext={"Department": "HR"})
    assert acct.kms.decrypt(CiphertextBlob=hr, EncryptionContext={"Department": "HR"})["Plaintext"] == PLAINTEXT


def test_encryption_context_keys_for_all_values(acct):
    """ForAllValues is true for a request with no context keys at all (AWS
    "Condition keys for AWS KMS", kms:EncryptionContextKeys); a Null check
    closes that gap."""
    user = acct.create_user("ctxkeys")
    only_known = {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]}}
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(["kms:Encrypt", "kms:Decrypt"], principal=user.arn,
                                                     condition=only_known)))
    kid = key["KeyId"]
    roundtrip(user, kid, {"Department": "IT"})
    roundtrip(user, kid, {"Department": "IT", "Project": "alpha"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid, {"Department": "IT", "Other": "x"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid, {"department": "IT"})  # condition values compare case-sensitively
    roundtrip(user, kid)  # no keys: ForAllValues holds vacuously

    strict = dict(only_known, Null={"kms:EncryptionContextKeys": "false"})
    acct.kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=key_policy(
        ACCOUNT_ID, allow(["kms:Encrypt", "kms:Decrypt"], principal=user.arn, condition=strict)))
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid)
    roundtrip(user, kid, {"Project": "alpha"})


def test_encryption_context_null_and_for_any_value(acct):
    user = acct.create_user("ctxnull")
    key = new_key(acct, key_policy(ACCOUNT_ID,
                                   allow("kms:Encrypt", principal=user.arn,
                                         condition={"Null": {"kms:EncryptionContext:Project": "false"}}),
                                   allow("kms:Decrypt", principal=user.arn,
                                         condition={"ForAnyValue:StringEquals":
                                                    {"kms:EncryptionContextKeys": "Project"}})))
    kid = key["KeyId"]
    encrypt(user, kid, {"Project": "anything"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid, {"Department": "IT"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid)
    blob = user.kms.encrypt(KeyId=kid, Plaintext=PLAINTEXT,
                            EncryptionContext={"Project": "p", "Team": "t"})["CiphertextBlob"]
    assert user.kms.decrypt(CiphertextBlob=blob, EncryptionContext={"Project": "p", "Team": "t"})["Plaintext"] \
        == PLAINTEXT
    no_project = acct.kms.encrypt(KeyId=kid, Plaintext=PLAINTEXT, EncryptionContext={"Team": "t"})["CiphertextBlob"]
    with denied(user, "kms:Decrypt"):
        user.kms.decrypt(CiphertextBlob=no_project, EncryptionContext={"Team": "t"})


def test_encryption_context_if_exists_and_string_like(acct):
    user = acct.create_user("ctxifexists")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        "kms:Encrypt", principal=user.arn,
        condition={"StringLikeIfExists": {"kms:EncryptionContext:Department": "IT-*"}})))
    kid = key["KeyId"]
    encrypt(user, kid)  # absent: IfExists lets it through
    encrypt(user, kid, {"Department": "IT-ops"})
    encrypt(user, kid, {"Other": "x"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid, {"Department": "HR-ops"})


def test_encryption_context_condition_in_an_identity_policy(acct):
    key = new_key(acct)
    user = acct.create_user("ctxiam", policies={"p": doc(allow(
        ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], key["Arn"],
        condition={"StringEquals": {"kms:EncryptionContext:Department": "${aws:username}"}}))})
    roundtrip(user, key["KeyId"], {"Department": user.name})
    user.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext={"Department": user.name})
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"], {"Department": "someone-else"})
    with denied(user, "kms:GenerateDataKey"):
        user.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")


# =====================================================================================
# other condition keys
# =====================================================================================


def test_caller_account_condition(acct, other):
    """Principal "*" limited by kms:CallerAccount: every principal of the account may
    encrypt without an identity policy; another account may not, even with one."""
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        "kms:Encrypt", principal="*", condition={"StringEquals": {"kms:CallerAccount": ACCOUNT_ID}})))
    user = acct.create_user("calleracct")
    encrypt(user, key["Arn"])
    outsider = other.create_user("outsider", policies={"all": doc(allow("kms:*"))})
    with denied(outsider, "kms:Encrypt"):
        encrypt(outsider, key["Arn"])


def test_request_alias_condition(acct):
    user = acct.create_user("reqalias")
    key = new_key(acct)
    good, bad = unique_alias("good"), unique_alias("bad")
    acct.kms.create_alias(AliasName=good, TargetKeyId=key["KeyId"])
    acct.kms.create_alias(AliasName=bad, TargetKeyId=key["KeyId"])
    acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=key_policy(ACCOUNT_ID, allow(
        ["kms:Encrypt", "kms:DescribeKey"], principal=user.arn,
        condition={"StringEquals": {"kms:RequestAlias": good}})))
    assert encrypt(user, good)["KeyId"] == key["Arn"]
    with denied(user, "kms:Encrypt"):
        encrypt(user, bad)
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["Arn"])


def test_key_spec_usage_and_origin_conditions(acct):
    user = acct.create_user("spec", policies={"create": doc(allow(
        "kms:CreateKey", condition={"StringEquals": {"kms:KeyOrigin": "AWS_KMS",
                                                     "kms:KeySpec": "SYMMETRIC_DEFAULT",
                                                     "kms:KeyUsage": "ENCRYPT_DECRYPT"}}))})
    made = user.kms.create_key(Description=unique("spec"))["KeyMetadata"]
    assert made["Origin"] == "AWS_KMS"
    with denied(user, "kms:CreateKey"):
        user.kms.create_key(Description=unique("spec"), Origin="EXTERNAL")

    key = new_key(acct, key_policy(
        ACCOUNT_ID,
        allow("kms:Encrypt", principal=user.arn, condition={"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}}),
        allow("kms:GenerateDataKey", principal=user.arn, condition={"StringEquals": {"kms:KeySpec": "RSA_2048"}}),
    ))
    encrypt(user, key["KeyId"])
    with denied(user, "kms:GenerateDataKey"):
        user.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")


def test_grant_operations_condition_on_create_grant(acct):
    user = acct.create_user("grantops")
    grantee = acct.create_user("grantee")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        "kms:CreateGrant", principal=user.arn,
        condition={"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]}})))
    user.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Decrypt"])
    user.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Encrypt", "Decrypt"])
    with denied(user, "kms:CreateGrant"):
        user.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                              Operations=["Encrypt", "GenerateDataKey"])


def test_source_ip_condition(acct):
    user = acct.create_user("srcip")
    key = new_key(acct, key_policy(
        ACCOUNT_ID,
        allow("kms:Encrypt", principal=user.arn, condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
        allow("kms:Decrypt", principal=user.arn, condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    ))
    blob = encrypt(user, key["KeyId"])["CiphertextBlob"]
    with denied(user, "kms:Decrypt"):
        user.kms.decrypt(CiphertextBlob=blob)


def test_secure_transport_is_false_over_plain_http(acct):
    """The usual "deny unless TLS" statement denies everyone on a plain-HTTP endpoint."""
    key = new_key(acct, key_policy(ACCOUNT_ID, deny(
        "kms:Encrypt", principal="*", condition={"Bool": {"aws:SecureTransport": "false"}})))
    with denied(acct.root, "kms:Encrypt"):
        encrypt(acct.root, key["KeyId"])
    acct.kms.describe_key(KeyId=key["KeyId"])


def test_current_time_condition(acct):
    key = new_key(acct, key_policy(
        ACCOUNT_ID,
        deny("kms:Encrypt", principal="*", condition={"DateLessThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}),
        deny("kms:Decrypt", principal="*", condition={"DateGreaterThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}),
    ))
    blob = encrypt(acct.root, key["KeyId"])["CiphertextBlob"]
    with denied(acct.root, "kms:Decrypt"):
        acct.kms.decrypt(CiphertextBlob=blob)


def test_username_userid_and_principal_arn_conditions(acct):
    user = acct.create_user("who")
    someone = acct.create_user("someone")
    key = new_key(acct, key_policy(
        ACCOUNT_ID,
        allow("kms:Encrypt", principal="*", condition={"StringEquals": {"aws:username": user.name}}),
        allow("kms:Decrypt", principal="*", condition={"StringEquals": {"aws:userid": user.user_id}}),
        allow("kms:DescribeKey", principal="*", condition={"ArnEquals": {"aws:PrincipalArn": user.arn}}),
    ))
    roundtrip(user, key["KeyId"])
    user.kms.describe_key(KeyId=key["KeyId"])
    with denied(someone, "kms:Encrypt"):
        encrypt(someone, key["KeyId"])
    with denied(someone, "kms:DescribeKey"):
        someone.kms.describe_key(KeyId=key["KeyId"])


# =====================================================================================
# 4. cross-account use
# =====================================================================================


@pytest.fixture
def shared_key(acct, other):
    """A key of account A whose policy lets account B's principals (through
    their IAM policies) use it."""
    policy = key_policy(ACCOUNT_ID, allow(
        ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
         "kms:CreateGrant", "kms:GetKeyRotationStatus", "kms:DisableKey", "kms:PutKeyPolicy",
         "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:GetKeyPolicy", "kms:UpdateKeyDescription"],
        principal=other.root_arn, sid="Allow an external account to use this key"))
    return new_key(acct, policy)


def test_other_account_uses_a_shared_key_by_arn(acct, other, shared_key):
    b_user = other.create_user("xacct", policies={"use-a": doc(allow(
        ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:GetKeyRotationStatus"],
        shared_key["Arn"]))})
    assert b_user.sts.get_caller_identity()["Account"] == other.account_id
    out = encrypt(b_user, shared_key["Arn"], {"from": "b"})
    assert out["KeyId"] == shared_key["Arn"]
    # symmetric ciphertext names its key: no KeyId needed, even across accounts
    back = b_user.kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"from": "b"})
    assert back["Plaintext"] == PLAINTEXT and back["KeyId"] == shared_key["Arn"]
    meta = b_user.kms.describe_key(KeyId=shared_key["Arn"])["KeyMetadata"]
    assert meta["AWSAccountId"] == ACCOUNT_ID and meta["KeyId"] == shared_key["KeyId"]
    assert b_user.kms.get_key_rotation_status(KeyId=shared_key["Arn"])["KeyRotationEnabled"] is False
    dk = b_user.kms.generate_data_key(KeyId=shared_key["Arn"], KeySpec="AES_256")
    assert dk["KeyId"] == shared_key["Arn"]
    # A can decrypt what B encrypted under A's key
    assert acct.kms.decrypt(CiphertextBlob=out["CiphertextBlob"],
                            EncryptionContext={"from": "b"})["Plaintext"] == PLAINTEXT


def test_other_account_root_needs_only_the_key_policy(other, shared_key):
    encrypt(other.root, shared_key["Arn"])


def test_cross_account_denied_without_the_identity_policy(other, shared_key):
    b_user = other.create_user("xnoiam")
    with denied(b_user, "kms:Encrypt"):
        encrypt(b_user, shared_key["Arn"])


def test_cross_account_denied_without_the_key_policy(acct, other):
    key = new_key(acct)  # default policy: account A only
    b_user = other.create_user("xnokp", policies={"all": doc(allow("kms:*"))})
    with denied(b_user, "kms:Encrypt"):
        encrypt(b_user, key["Arn"])
    with denied(other.root, "kms:Encrypt"):
        encrypt(other.root, key["Arn"])
    with denied(b_user, "kms:DescribeKey"):
        b_user.kms.describe_key(KeyId=key["Arn"])


def test_cross_account_user_named_in_key_policy_still_needs_its_identity_policy(acct, other):
    """"You must also add IAM policies in the external account ... even when users
    and roles are specified in the key policy" (Allowing users in other accounts)."""
    b_user = other.create_user("xnamed")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(["kms:Encrypt", "kms:Decrypt"], principal=b_user.arn)))
    with denied(b_user, "kms:Encrypt"):
        encrypt(b_user, key["Arn"])
    other.put_user_policy(b_user.name, "use", doc(allow(["kms:Encrypt", "kms:Decrypt"], key["Arn"])))
    roundtrip(b_user, key["Arn"])


def test_cross_account_identity_policy_limits_to_the_key_policy_actions(acct, other):
    key = new_key(acct, key_policy(ACCOUNT_ID, allow("kms:Encrypt", principal=other.root_arn)))
    b_user = other.create_user("xsubset", policies={"all": doc(allow("kms:*"))})
    blob = encrypt(b_user, key["Arn"])["CiphertextBlob"]
    with denied(b_user, "kms:Decrypt"):
        b_user.kms.decrypt(CiphertextBlob=blob, KeyId=key["Arn"])


def test_other_account_cannot_use_an_alias_name_of_another_account(acct, other, shared_key):
    """An alias name resolves in the caller's own account and region."""
    alias = unique_alias("xalias")
    acct.kms.create_alias(AliasName=alias, TargetKeyId=shared_key["KeyId"])
    b_user = other.create_user("xaliasuser", policies={"all": doc(allow("kms:*"))})
    with raises_kms("NotFoundException"):
        encrypt(b_user, alias)
    with raises_kms("NotFoundException"):
        b_user.kms.describe_key(KeyId=alias)
    # nor the bare key id: that too names a key of the caller's account
    with raises_kms("NotFoundException"):
        encrypt(b_user, shared_key["KeyId"])
    assert alias not in {a["AliasName"] for a in b_user.kms.list_aliases()["Aliases"]}


def test_other_account_may_use_an_alias_arn(acct, other, shared_key):
    """"If the KMS key is in a different AWS account, you must use a key ARN or alias
    ARN" (KMS developer guide, "Learn how to use aliases in your applications",
    https://docs.aws.amazon.com/kms/latest/developerguide/alias-using.html)."""
    alias = unique_alias("xaliasarn")
    acct.kms.create_alias(AliasName=alias, TargetKeyId=shared_key["KeyId"])
    b_user = other.create_user("xaliasarnuser", policies={"all": doc(allow("kms:*"))})
    # B has an alias of the same name: the ARN's account decides which one is meant
    other.kms.create_alias(AliasName=alias, TargetKeyId=new_key(other)["KeyId"])
    out = encrypt(b_user, acct.alias_arn(alias))
    assert out["KeyId"] == shared_key["Arn"]


@pytest.mark.parametrize("operation, kwargs", [
    ("disable_key", {}),
    ("put_key_policy", {"PolicyName": "default", "Policy": key_policy(ACCOUNT_ID)}),
    ("schedule_key_deletion", {"PendingWindowInDays": 7}),
    ("tag_resource", {"Tags": [{"TagKey": "x", "TagValue": "y"}]}),
    ("get_key_policy", {"PolicyName": "default"}),
    ("update_key_description", {"Description": "hijacked"}),
])
def test_other_account_cannot_manage_a_shared_key(operation, kwargs, acct, other, shared_key):
    """These operations are not cross-account ("Cross-account use: No" in each API
    reference) even when both policies allow them. AWS does not document the
    error code, so either refusal is accepted; the key must be untouched."""
    b_user = other.create_user("xmanage", policies={"all": doc(allow("kms:*"))})
    for caller in (b_user, other.root):
        with pytest.raises(Exception) as info:
            getattr(caller.kms, operation)(KeyId=shared_key["Arn"], **kwargs)
        code, message, status = error_of(info.value)
        assert code in {"AccessDeniedException", "NotFoundException"}, (code, message)
        assert status == 400
    meta = acct.kms.describe_key(KeyId=shared_key["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "Enabled"
    assert meta["Description"] == shared_key["Description"]
    assert acct.kms.list_resource_tags(KeyId=shared_key["KeyId"])["Tags"] == []
    policy = json.loads(acct.kms.get_key_policy(KeyId=shared_key["KeyId"], PolicyName="default")["Policy"])
    assert any(s.get("Sid") == "Allow an external account to use this key" for s in policy["Statement"])


def test_accounts_do_not_see_each_others_keys(acct, other, shared_key):
    b_key = new_key(other)
    assert shared_key["KeyId"] not in key_ids(other.kms)
    assert b_key["KeyId"] not in key_ids(acct.kms)
    assert b_key["Arn"] == f"arn:aws:kms:us-east-1:{other.account_id}:key/{b_key['KeyId']}"
    assert b_key["AWSAccountId"] == other.account_id
    # A's root has no access to B's key (default policy of B)
    with denied(acct.root, "kms:Encrypt"):
        encrypt(acct.root, b_key["Arn"])
    # nor to B's users
    with query_error("NoSuchEntity", 404):
        acct.iam.get_user(UserName=other.create_user("hidden").name)


def test_create_account_with_a_chosen_id(make_server, strongroom_bin):
    srv = make_server("accounts")
    srv.start()
    made = create_account(strongroom_bin, srv.data_dir, account_id="444455556666")
    assert made["AccountId"] == "444455556666"
    b = Account(srv.endpoint, "444455556666", Creds(made["AccessKeyId"], made["SecretAccessKey"]))
    ident = b.root.sts.get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::444455556666:root" and ident["Account"] == "444455556666"
    assert key_ids(b.kms) == set()
    key = new_key(b)
    assert key["Arn"].startswith("arn:aws:kms:us-east-1:444455556666:key/")
    policy = json.loads(b.kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::444455556666:root"}
    roundtrip(b.root, key["KeyId"])
    # the same id twice is refused, and changes nothing
    again = subprocess.run([strongroom_bin, "admin", "create-account", "--data-dir", str(srv.data_dir),
                            "--account-id", "444455556666"], capture_output=True, text=True, timeout=60)
    assert again.returncode != 0
    assert "already exists" in again.stderr, again.stderr
    assert b.root.sts.get_caller_identity()["Account"] == "444455556666"
    # and survives a restart
    srv.restart()
    b2 = Account(srv.endpoint, "444455556666", Creds(made["AccessKeyId"], made["SecretAccessKey"]))
    roundtrip(b2.root, key["KeyId"])


def test_key_arn_account_must_match_the_key(acct, other):
    """A key ARN names account and key id; a key id under the wrong account is
    not that key (NotFoundException), in either direction."""
    a_key, b_key = new_key(acct), new_key(other)
    mixed_for_a = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{b_key['KeyId']}"
    mixed_for_b = f"arn:aws:kms:us-east-1:{other.account_id}:key/{a_key['KeyId']}"
    with raises_kms("NotFoundException"):
        encrypt(acct.root, mixed_for_a)
    with raises_kms("NotFoundException"):
        acct.kms.describe_key(KeyId=mixed_for_a)
    with raises_kms("NotFoundException"):
        encrypt(other.root, mixed_for_b)
    with raises_kms("NotFoundException"):
        other.kms.disable_key(KeyId=mixed_for_b)
    assert key_state(acct, a_key["KeyId"]) == "Enabled"


# =====================================================================================
# 5. grants
# =====================================================================================


def test_grantee_without_policies_uses_the_key_through_a_grant(acct):
    key = new_key(acct)
    grantee = acct.create_user("grantee")
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"])
    answer = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                   Operations=["Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey"])
    assert re.fullmatch(r"[0-9a-f]{64}", answer["GrantId"]), answer["GrantId"]
    assert isinstance(answer["GrantToken"], str) and answer["GrantToken"]
    # in force on the next request, without the token
    roundtrip(grantee, key["KeyId"])
    grantee.kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    assert grantee.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    with denied(grantee, "kms:DisableKey"):
        grantee.kms.disable_key(KeyId=key["KeyId"])
    with denied(grantee, "kms:GenerateDataKeyWithoutPlaintext"):
        grantee.kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    blob = acct.kms.encrypt(KeyId=key["KeyId"], Plaintext=PLAINTEXT)["CiphertextBlob"]
    with denied(grantee, "kms:ReEncryptFrom"):
        grantee.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key["KeyId"])
    with denied(grantee, "kms:CreateGrant"):
        grantee.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Encrypt"])
    # grants do not reach other keys
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, new_key(acct)["KeyId"])


def test_grant_token_is_accepted_in_the_next_request(acct):
    key = new_key(acct)
    grantee = acct.create_user("tokens")
    token = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                  Operations=["GenerateDataKey", "Decrypt"])["GrantToken"]
    dk = grantee.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", GrantTokens=[token])
    out = grantee.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], GrantTokens=[token])
    assert out["Plaintext"] == dk["Plaintext"]
    # several tokens in one request are fine too
    token2 = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                   Operations=["Encrypt"])["GrantToken"]
    encrypt(grantee, key["KeyId"], GrantTokens=[token, token2])


def test_grant_token_gives_nothing_to_someone_else(acct):
    key = new_key(acct)
    grantee = acct.create_user("tokgrantee")
    bystander = acct.create_user("bystander")
    token = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                  Operations=["Encrypt"])["GrantToken"]
    with denied(bystander, "kms:Encrypt"):
        encrypt(bystander, key["KeyId"], GrantTokens=[token])


def _garble(token: str) -> str:
    middle = len(token) // 2
    replacement = "A" if token[middle] != "A" else "B"
    return token[:middle] + replacement + token[middle + 1:]


def test_forged_and_garbled_grant_tokens_are_rejected(acct):
    key = new_key(acct)
    grantee = acct.create_user("forger")
    token = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                  Operations=["Encrypt"])["GrantToken"]
    forged = base64.b64encode(uuid.uuid4().bytes * (len(token) // 24 + 1)).decode()[:len(token)]
    for bad in (forged, _garble(token), "not-a-grant-token"):
        with raises_kms("InvalidGrantTokenException"):
            encrypt(grantee, key["KeyId"], GrantTokens=[bad])
        with raises_kms("InvalidGrantTokenException"):
            encrypt(grantee, key["KeyId"], GrantTokens=[token, bad])
    encrypt(grantee, key["KeyId"], GrantTokens=[token])


def test_grant_token_of_another_key_does_not_open_this_one(acct):
    key, other_key = new_key(acct), new_key(acct)
    grantee = acct.create_user("tokother")
    token = acct.kms.create_grant(KeyId=other_key["KeyId"], GranteePrincipal=grantee.arn,
                                  Operations=["Encrypt"])["GrantToken"]
    with pytest.raises(Exception) as info:
        encrypt(grantee, key["KeyId"], GrantTokens=[token])
    # AWS does not document which of the two refusals applies here
    assert error_of(info.value)[0] in {"AccessDeniedException", "InvalidGrantTokenException"}


def test_encryption_context_equals_constraint(acct):
    key = new_key(acct)
    grantee = acct.create_user("ctxequals")
    acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                          Operations=["Encrypt", "Decrypt", "DescribeKey"],
                          Constraints={"EncryptionContextEquals": {"Department": "IT"}})
    roundtrip(grantee, key["KeyId"], {"Department": "IT"})
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"], {"Department": "IT", "Purpose": "Test"})
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"], {"Department": "HR"})
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"])
    extra = acct.kms.encrypt(KeyId=key["KeyId"], Plaintext=PLAINTEXT,
                             EncryptionContext={"Department": "IT", "Purpose": "Test"})["CiphertextBlob"]
    with denied(grantee, "kms:Decrypt"):
        grantee.kms.decrypt(CiphertextBlob=extra, EncryptionContext={"Department": "IT", "Purpose": "Test"})
    # constraints do not apply to DescribeKey
    grantee.kms.describe_key(KeyId=key["KeyId"])


def test_encryption_context_subset_constraint(acct):
    key = new_key(acct)
    grantee = acct.create_user("ctxsubset")
    acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Encrypt", "Decrypt"],
                          Constraints={"EncryptionContextSubset": {"Department": "IT"}})
    roundtrip(grantee, key["KeyId"], {"Department": "IT"})
    roundtrip(grantee, key["KeyId"], {"Department": "IT", "Purpose": "Test"})
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"], {"Purpose": "Test"})
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"], {"Department": "it"})
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"])


def test_retire_grant_by_token_as_the_retiring_principal(acct):
    key = new_key(acct)
    grantee, retirer = acct.create_user("retgrantee"), acct.create_user("retirer")
    answer = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                   RetiringPrincipal=retirer.arn, Operations=["Encrypt"])
    encrypt(grantee, key["KeyId"])
    retirer.kms.retire_grant(GrantToken=answer["GrantToken"])
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"])
    assert answer["GrantId"] not in {g["GrantId"] for g in acct.kms.list_grants(KeyId=key["KeyId"])["Grants"]}


def test_retire_grant_by_key_and_grant_id(acct):
    key = new_key(acct)
    grantee, retirer = acct.create_user("retgrantee2"), acct.create_user("retirer2")
    grant_id = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                     RetiringPrincipal=retirer.arn, Operations=["Encrypt"])["GrantId"]
    retirer.kms.retire_grant(KeyId=key["Arn"], GrantId=grant_id)
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"])
    with raises_kms(GONE_GRANT):
        retirer.kms.retire_grant(KeyId=key["Arn"], GrantId=grant_id)


def test_who_may_retire_a_grant(acct):
    """The retiring principal; the grantee only if the grant includes RetireGrant;
    the account as a backup; nobody else ("Retiring and revoking grants")."""
    key = new_key(acct)
    grantee, retirer, stranger = (acct.create_user(p) for p in ("whograntee", "whoretirer", "whostranger"))

    plain = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                  RetiringPrincipal=retirer.arn, Operations=["Encrypt"])["GrantId"]
    with denied(stranger):
        stranger.kms.retire_grant(KeyId=key["Arn"], GrantId=plain)
    with denied(grantee):
        grantee.kms.retire_grant(KeyId=key["Arn"], GrantId=plain)
    encrypt(grantee, key["KeyId"])  # still there

    self_retiring = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                          Operations=["Decrypt", "RetireGrant"])["GrantId"]
    grantee.kms.retire_grant(KeyId=key["Arn"], GrantId=self_retiring)

    acct.kms.retire_grant(KeyId=key["Arn"], GrantId=plain)  # the account that created it
    remaining = {g["GrantId"] for g in acct.kms.list_grants(KeyId=key["KeyId"])["Grants"]}
    assert plain not in remaining and self_retiring not in remaining


def test_revoke_grant_removes_access_immediately(acct):
    key = new_key(acct)
    grantee = acct.create_user("revoked")
    answer = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Encrypt"])
    encrypt(grantee, key["KeyId"])
    with denied(grantee, "kms:RevokeGrant"):
        grantee.kms.revoke_grant(KeyId=key["KeyId"], GrantId=answer["GrantId"])
    acct.kms.revoke_grant(KeyId=key["KeyId"], GrantId=answer["GrantId"])
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"])
    with pytest.raises(Exception) as info:  # nor with the token of the revoked grant
        encrypt(grantee, key["KeyId"], GrantTokens=[answer["GrantToken"]])
    assert error_of(info.value)[0] in {"AccessDeniedException", "InvalidGrantTokenException"}
    # A grant id that names no grant: AWS lists both codes for RevokeGrant without
    # saying which applies (moto answers NotFoundException); either is accepted.
    with raises_kms(GONE_GRANT):
        acct.kms.revoke_grant(KeyId=key["KeyId"], GrantId=answer["GrantId"])
    with raises_kms(GONE_GRANT):
        acct.kms.revoke_grant(KeyId=key["KeyId"], GrantId="0" * 64)


def test_revoke_grant_by_a_key_administrator(acct):
    key = new_key(acct)
    admin = acct.create_user("revoker", policies={"revoke": doc(allow(["kms:RevokeGrant", "kms:ListGrants"],
                                                                      key["Arn"]))})
    grantee = acct.create_user("revokee")
    grant_id = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                     Operations=["Encrypt"])["GrantId"]
    assert [g["GrantId"] for g in admin.kms.list_grants(KeyId=key["KeyId"])["Grants"]] == [grant_id]
    admin.kms.revoke_grant(KeyId=key["Arn"], GrantId=grant_id)
    with denied(grantee, "kms:Encrypt"):
        encrypt(grantee, key["KeyId"])


def test_list_grants_shape_and_filters(acct):
    key = new_key(acct)
    grantee, retirer = acct.create_user("listed"), acct.create_user("listretirer")
    before = dt.datetime.now(dt.timezone.utc)
    first = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, RetiringPrincipal=retirer.arn,
                                  Operations=["Decrypt", "Encrypt"], Name="first-grant",
                                  Constraints={"EncryptionContextSubset": {"Department": "IT"}})["GrantId"]
    second = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=retirer.arn,
                                   Operations=["DescribeKey"])["GrantId"]
    page = acct.kms.list_grants(KeyId=key["KeyId"])
    assert page["Truncated"] is False
    grants = {g["GrantId"]: g for g in page["Grants"]}
    assert set(grants) == {first, second}
    g = grants[first]
    assert g["KeyId"] == key["Arn"]
    assert g["Name"] == "first-grant"
    assert g["GranteePrincipal"] == grantee.arn
    assert g["RetiringPrincipal"] == retirer.arn
    assert g["IssuingAccount"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert sorted(g["Operations"]) == ["Decrypt", "Encrypt"]
    assert g["Constraints"] == {"EncryptionContextSubset": {"Department": "IT"}}
    assert isinstance(g["CreationDate"], dt.datetime)
    assert abs((g["CreationDate"] - before).total_seconds()) < 300
    assert grants[second]["Operations"] == ["DescribeKey"]
    assert "EncryptionContextSubset" not in grants[second].get("Constraints", {})

    assert [x["GrantId"] for x in acct.kms.list_grants(KeyId=key["Arn"], GrantId=second)["Grants"]] == [second]
    by_grantee = acct.kms.list_grants(KeyId=key["KeyId"], GranteePrincipal=grantee.arn)["Grants"]
    assert [x["GrantId"] for x in by_grantee] == [first]

    one = acct.kms.list_grants(KeyId=key["KeyId"], Limit=1)
    assert one["Truncated"] is True and len(one["Grants"]) == 1
    rest = acct.kms.list_grants(KeyId=key["KeyId"], Limit=1, Marker=one["NextMarker"])
    assert {one["Grants"][0]["GrantId"], rest["Grants"][0]["GrantId"]} == {first, second}
    paged = [x["GrantId"] for p in acct.kms.get_paginator("list_grants").paginate(
        KeyId=key["KeyId"], PaginationConfig={"PageSize": 1}) for x in p["Grants"]]
    assert sorted(paged) == sorted([first, second])


def test_list_retirable_grants(acct):
    k1, k2 = new_key(acct), new_key(acct)
    grantee, retirer = acct.create_user("rgrantee"), acct.create_user("rretirer")
    g1 = acct.kms.create_grant(KeyId=k1["KeyId"], GranteePrincipal=grantee.arn, RetiringPrincipal=retirer.arn,
                               Operations=["Encrypt"])["GrantId"]
    g2 = acct.kms.create_grant(KeyId=k2["KeyId"], GranteePrincipal=grantee.arn, RetiringPrincipal=retirer.arn,
                               Operations=["Decrypt"])["GrantId"]
    acct.kms.create_grant(KeyId=k2["KeyId"], GranteePrincipal=grantee.arn, Operations=["Decrypt"])
    page = acct.kms.list_retirable_grants(RetiringPrincipal=retirer.arn)
    found = {g["GrantId"]: g for g in page["Grants"]}
    assert set(found) == {g1, g2}
    assert found[g1]["KeyId"] == k1["Arn"] and found[g2]["KeyId"] == k2["Arn"]
    assert found[g2]["RetiringPrincipal"] == retirer.arn and found[g2]["Operations"] == ["Decrypt"]
    assert page["Truncated"] is False
    # ListRetirableGrants is an IAM-policy permission (resource "*")
    with denied(retirer, "kms:ListRetirableGrants"):
        retirer.kms.list_retirable_grants(RetiringPrincipal=retirer.arn)
    acct.put_user_policy(retirer.name, "lrg", doc(allow("kms:ListRetirableGrants")))
    assert {g["GrantId"] for g in retirer.kms.list_retirable_grants(RetiringPrincipal=retirer.arn)["Grants"]} \
        == {g1, g2}


def test_grant_name_makes_create_grant_idempotent(acct):
    key = new_key(acct)
    grantee = acct.create_user("named")
    kwargs = dict(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Encrypt", "Decrypt"],
                  Name="retry-safe")
    a = acct.kms.create_grant(**kwargs)
    b = acct.kms.create_grant(**kwargs)
    assert a["GrantId"] == b["GrantId"]
    # "the returned grant token is unique with every CreateGrant request" (API reference, Name)
    assert a["GrantToken"] != b["GrantToken"]
    encrypt(grantee, key["KeyId"], GrantTokens=[b["GrantToken"]])
    grants = acct.kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert [g["GrantId"] for g in grants] == [a["GrantId"]]
    # different properties under the same name: a new grant
    c = acct.kms.create_grant(**{**kwargs, "Operations": ["Encrypt"]})
    assert c["GrantId"] != a["GrantId"]
    # without a name, identical requests make distinct grants
    unnamed = {k: v for k, v in kwargs.items() if k != "Name"}
    d, e = acct.kms.create_grant(**unnamed), acct.kms.create_grant(**unnamed)
    assert d["GrantId"] != e["GrantId"]
    assert len(acct.kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 4


def test_grantee_with_create_grant_can_only_narrow(acct):
    """"Granting CreateGrant permission" (KMS developer guide, Creating grants):
    child operations must be a subset, child constraints at least as strict."""
    key = new_key(acct)
    parent, child = acct.create_user("parent"), acct.create_user("child")
    acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=parent.arn,
                          Operations=["GenerateDataKey", "Decrypt", "CreateGrant"],
                          Constraints={"EncryptionContextSubset": {"Department": "IT"}})
    kid = key["KeyId"]

    ok1 = parent.kms.create_grant(KeyId=kid, GranteePrincipal=child.arn, Operations=["Decrypt"],
                                  Constraints={"EncryptionContextSubset": {"Department": "IT", "Team": "a"}})
    ok2 = parent.kms.create_grant(KeyId=kid, GranteePrincipal=child.arn, Operations=["Decrypt", "CreateGrant"],
                                  Constraints={"EncryptionContextEquals": {"Department": "IT"}})
    assert ok1["GrantId"] != ok2["GrantId"]

    with denied(parent, "kms:CreateGrant"):  # an operation the parent grant lacks
        parent.kms.create_grant(KeyId=kid, GranteePrincipal=child.arn, Operations=["Decrypt", "Encrypt"],
                                Constraints={"EncryptionContextSubset": {"Department": "IT"}})
    with denied(parent, "kms:CreateGrant"):  # no constraint at all
        parent.kms.create_grant(KeyId=kid, GranteePrincipal=child.arn, Operations=["Decrypt"])
    with denied(parent, "kms:CreateGrant"):  # drops the Department pair
        parent.kms.create_grant(KeyId=kid, GranteePrincipal=child.arn, Operations=["Decrypt"],
                                Constraints={"EncryptionContextSubset": {"Team": "a"}})
    with denied(parent, "kms:CreateGrant"):  # a different value
        parent.kms.create_grant(KeyId=kid, GranteePrincipal=child.arn, Operations=["Decrypt"],
                                Constraints={"EncryptionContextSubset": {"Department": "HR"}})

    # the child's grant works under its own (stricter) constraint
    blob = acct.kms.encrypt(KeyId=kid, Plaintext=PLAINTEXT,
                            EncryptionContext={"Department": "IT", "Team": "a"})["CiphertextBlob"]
    assert child.kms.decrypt(CiphertextBlob=blob, EncryptionContext={"Department": "IT", "Team": "a"})["Plaintext"] \
        == PLAINTEXT
    # a grant made from an Equals grant cannot go back to Subset
    grandchild = acct.create_user("grandchild")
    with denied(child, "kms:CreateGrant"):
        child.kms.create_grant(KeyId=kid, GranteePrincipal=grandchild.arn, Operations=["Decrypt"],
                               Constraints={"EncryptionContextSubset": {"Department": "IT"}})
    child.kms.create_grant(KeyId=kid, GranteePrincipal=grandchild.arn, Operations=["Decrypt"],
                           Constraints={"EncryptionContextEquals": {"Department": "IT"}})


def test_grant_to_another_account_principal(acct, other):
    """A grant lets a principal of another account use the key by ARN ("use grants
    to manage access", Allowing users in other accounts to use a KMS key)."""
    key = new_key(acct)
    b_user = other.create_user("xgrantee")
    acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=b_user.arn, Operations=["Encrypt", "Decrypt"])
    roundtrip(b_user, key["Arn"])
    g = acct.kms.list_grants(KeyId=key["KeyId"])["Grants"][0]
    assert g["GranteePrincipal"] == b_user.arn
    assert g["IssuingAccount"] == f"arn:aws:iam::{ACCOUNT_ID}:root"


def test_grant_constraints_on_reencrypt(acct):
    """ReEncrypt needs ReEncryptFrom on the source key and ReEncryptTo on the
    destination key; an EncryptionContextSubset constraint applies to the context
    of the side its grant covers."""
    source, dest = new_key(acct), new_key(acct)
    grantee = acct.create_user("regrant")
    acct.kms.create_grant(KeyId=source["KeyId"], GranteePrincipal=grantee.arn, Operations=["ReEncryptFrom"],
                          Constraints={"EncryptionContextSubset": {"stage": "old"}})
    acct.kms.create_grant(KeyId=dest["KeyId"], GranteePrincipal=grantee.arn, Operations=["ReEncryptTo"],
                          Constraints={"EncryptionContextSubset": {"stage": "new"}})
    blob = acct.kms.encrypt(KeyId=source["KeyId"], Plaintext=PLAINTEXT,
                            EncryptionContext={"stage": "old"})["CiphertextBlob"]
    out = grantee.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"stage": "old"},
                                 DestinationKeyId=dest["KeyId"], DestinationEncryptionContext={"stage": "new"})
    assert out["KeyId"] == dest["Arn"] and out["SourceKeyId"] == source["Arn"]
    assert acct.kms.decrypt(CiphertextBlob=out["CiphertextBlob"],
                            EncryptionContext={"stage": "new"})["Plaintext"] == PLAINTEXT
    with denied(grantee, "kms:ReEncryptTo"):
        grantee.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"stage": "old"},
                               DestinationKeyId=dest["KeyId"], DestinationEncryptionContext={"stage": "old"})
    elsewhere = acct.kms.encrypt(KeyId=source["KeyId"], Plaintext=PLAINTEXT,
                                 EncryptionContext={"stage": "other"})["CiphertextBlob"]
    with denied(grantee, "kms:ReEncryptFrom"):
        grantee.kms.re_encrypt(CiphertextBlob=elsewhere, SourceEncryptionContext={"stage": "other"},
                               DestinationKeyId=dest["KeyId"], DestinationEncryptionContext={"stage": "new"})


# =====================================================================================
# 6. roles and STS sessions
# =====================================================================================


def test_assume_role_and_use_the_session(acct):
    user = acct.create_user("assumer")
    role = acct.create_role("kmsuser", trust=trust(user.arn),
                            policies={"use": doc(allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]))})
    key = new_key(acct)
    before = dt.datetime.now(dt.timezone.utc)
    answer = user.sts.assume_role(RoleArn=role.arn, RoleSessionName="batch-job")
    creds = answer["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["AccessKeyId"]), creds["AccessKeyId"]
    assert creds["SessionToken"] and len(creds["SecretAccessKey"]) == 40
    assert abs((creds["Expiration"] - before).total_seconds() - 3600) < 120
    assumed = answer["AssumedRoleUser"]
    assert assumed["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role.name}/batch-job"
    assert assumed["AssumedRoleId"] == f"{role.role_id}:batch-job"

    session = Principal(acct.endpoint, ACCOUNT_ID, assumed["Arn"],
                        Creds(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))
    ident = session.sts.get_caller_identity()
    assert ident["Arn"] == assumed["Arn"]
    assert ident["UserId"] == assumed["AssumedRoleId"]
    assert ident["Account"] == ACCOUNT_ID
    roundtrip(session, key["KeyId"])
    with denied(session, "kms:DisableKey"):
        session.kms.disable_key(KeyId=key["KeyId"])
    # the user itself has none of the role's permissions
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_session_credentials_need_their_token(acct):
    user = acct.create_user("notoken")
    role = acct.create_role("notoken", trust=trust(user.arn),
                            policies={"use": doc(allow("kms:ListKeys"))})
    session = acct.assume(user, role)
    session.kms.list_keys()
    without = Creds(session.creds.access_key_id, session.creds.secret_access_key)
    with raises_kms("UnrecognizedClientException"):
        client("kms", acct.endpoint, without).list_keys()
    tampered = Creds(session.creds.access_key_id, session.creds.secret_access_key,
                     _garble(session.creds.session_token))
    with raises_kms("UnrecognizedClientException"):
        client("kms", acct.endpoint, tampered).list_keys()


def test_key_policy_naming_the_role_allows_its_sessions(acct):
    user = acct.create_user("viarole")
    role = acct.create_role("named", trust=trust(user.arn))
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(["kms:Encrypt", "kms:Decrypt"], principal=role.arn)))
    session = acct.assume(user, role, "named-session")
    roundtrip(session, key["KeyId"])
    with denied(session, "kms:Encrypt"):
        encrypt(session, new_key(acct)["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_principal_arn_of_a_session_is_the_role(acct):
    user = acct.create_user("parn")
    role = acct.create_role("parn", trust=trust(user.arn))
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        "kms:Encrypt", principal="*", condition={"ArnEquals": {"aws:PrincipalArn": role.arn}})))
    session = acct.assume(user, role)
    encrypt(session, key["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_grant_to_a_role_applies_to_its_sessions(acct):
    user = acct.create_user("grantrole")
    role = acct.create_role("grantrole", trust=trust(user.arn))
    key = new_key(acct)
    acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=role.arn, Operations=["Encrypt"])
    session = acct.assume(user, role)
    encrypt(session, key["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_trust_policy_decides_who_may_assume(acct):
    named = acct.create_user("trusted")
    stranger = acct.create_user("untrusted", policies={"assume": doc(allow("sts:AssumeRole"))})
    role = acct.create_role("guarded", trust=trust(named.arn))
    acct.assume(named, role)  # named directly: no identity policy needed
    with query_error("AccessDenied", 403) as info:
        stranger.sts.assume_role(RoleArn=role.arn, RoleSessionName="nope")
    assert stranger.arn in error_of(info.value)[1]

    # a trust policy naming the account delegates to identity policies
    account_role = acct.create_role("acctrust", trust=trust(acct.root_arn))
    with query_error("AccessDenied", 403):
        named.sts.assume_role(RoleArn=account_role.arn, RoleSessionName="nope")
    acct.assume(stranger, account_role)


def test_root_cannot_assume_a_role(acct):
    """"You cannot call AssumeRole by using AWS account root user credentials;
    access is denied." (STS AssumeRole API reference)"""
    role = acct.create_role("rootless", trust=trust(acct.root_arn))
    with query_error("AccessDenied", 403):
        acct.root.sts.assume_role(RoleArn=role.arn, RoleSessionName="root")


def test_assume_role_duration_limits(acct):
    user = acct.create_user("duration")
    role = acct.create_role("duration", trust=trust(user.arn))
    before = dt.datetime.now(dt.timezone.utc)
    short = user.sts.assume_role(RoleArn=role.arn, RoleSessionName="short", DurationSeconds=900)
    assert abs((short["Credentials"]["Expiration"] - before).total_seconds() - 900) < 120
    with query_error("ValidationError", 400):
        user.sts.assume_role(RoleArn=role.arn, RoleSessionName="long", DurationSeconds=7200)
    # an unknown role is indistinguishable from one whose trust policy says no
    with query_error("AccessDenied", 403):
        user.sts.assume_role(RoleArn=acct.role_arn(unique("missing")), RoleSessionName="gone")


def test_session_expires_with_the_server_clock(clock_server):
    a = Account(clock_server.endpoint, clock_server.account_id,
                Creds(clock_server.access_key_id, clock_server.secret_access_key))
    user = a.create_user("expiring")
    role = a.create_role("expiring", trust=trust(user.arn),
                         policies={"use": doc(allow(["kms:Encrypt", "kms:Decrypt"]))})
    key = new_key(a)
    session = a.assume(user, role, "short-lived", DurationSeconds=900)
    roundtrip(session, key["KeyId"])
    clock_server.advance_clock(890)
    roundtrip(session, key["KeyId"])
    clock_server.advance_clock(20)
    with pytest.raises(Exception) as info:
        encrypt(session, key["KeyId"])
    code, message, status = error_of(info.value)
    assert code == "ExpiredTokenException", (code, message)
    # JSON-protocol services answer their authentication errors with 400 (as the suite's
    # SigV4 tests expect).
    assert status == 400
    with query_error("ExpiredToken"):
        session.sts.get_caller_identity()
    # the long-term key of the user does not expire, and a new session works
    assert user.sts.get_caller_identity()["Arn"] == user.arn
    fresh = a.assume(user, role, "again")
    roundtrip(fresh, key["KeyId"])


def test_current_time_follows_the_server_clock(clock_server):
    a = Account(clock_server.endpoint, clock_server.account_id,
                Creds(clock_server.access_key_id, clock_server.secret_access_key))
    now = dt.datetime.fromtimestamp(clock_server.clock_now(), dt.timezone.utc)
    cutoff = (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = new_key(a, key_policy(a.account_id, deny(
        "kms:Encrypt", principal="*", condition={"DateGreaterThan": {"aws:CurrentTime": cutoff}})))
    encrypt(a.root, key["KeyId"])
    clock_server.advance_clock(2 * 86_400)
    with denied(a.root, "kms:Encrypt"):
        encrypt(a.root, key["KeyId"])


def test_role_session_principals_and_userid(acct):
    """A key policy may name one role session ("arn:aws:sts::ACCOUNT:assumed-role/
    ROLE/SESSION", IAM JSON policy elements: Principal, role session principals);
    aws:userid of a session is "ROLEID:SESSION" (IAM global condition keys)."""
    user = acct.create_user("sessprin")
    role = acct.create_role("sessprin", trust=trust(user.arn))
    chosen = acct.assume(user, role, "chosen")
    other_session = acct.assume(user, role, "another")
    key = new_key(acct, key_policy(
        ACCOUNT_ID,
        allow("kms:Encrypt", principal=chosen.arn),
        allow("kms:DescribeKey", principal="*",
              condition={"StringLike": {"aws:userid": f"{role.role_id}:*"}}),
        allow("kms:GenerateDataKey", principal="*",
              condition={"StringEquals": {"aws:username": user.name}}),
    ))
    assert chosen.user_id == f"{role.role_id}:chosen"
    encrypt(chosen, key["KeyId"])
    with denied(other_session, "kms:Encrypt"):
        encrypt(other_session, key["KeyId"])
    other_session.kms.describe_key(KeyId=key["KeyId"])
    with denied(user, "kms:DescribeKey"):
        user.kms.describe_key(KeyId=key["KeyId"])
    # aws:username is not present for role sessions
    user.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    with denied(chosen, "kms:GenerateDataKey"):
        chosen.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")


# =====================================================================================
# 7. attribute-based access control
# =====================================================================================


ABAC_USE = doc(allow(
    ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], f"arn:aws:kms:*:{ACCOUNT_ID}:key/*",
    condition={"StringEquals": {"aws:ResourceTag/Project": "${aws:PrincipalTag/Project}"}}))


def _tagged_key(acct, **tags) -> dict:
    return new_key(acct, Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])


def test_resource_tag_must_match_principal_tag(acct):
    alpha, beta, untagged = _tagged_key(acct, Project="alpha"), _tagged_key(acct, Project="beta"), new_key(acct)
    user = acct.create_user("abac", tags={"Project": "alpha"}, policies={"abac": ABAC_USE})
    roundtrip(user, alpha["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, beta["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, untagged["KeyId"])

    # retagging the key takes effect on the next request
    acct.kms.tag_resource(KeyId=alpha["KeyId"], Tags=[{"TagKey": "Project", "TagValue": "beta"}])
    with denied(user, "kms:Encrypt"):
        encrypt(user, alpha["KeyId"])
    # and so does retagging the user
    acct.iam.tag_user(UserName=user.name, Tags=[{"Key": "Project", "Value": "beta"}])
    roundtrip(user, beta["KeyId"])
    roundtrip(user, alpha["KeyId"])
    # a user without the tag matches nothing (the variable does not resolve)
    untagged_user = acct.create_user("abacnotag", policies={"abac": ABAC_USE})
    with denied(untagged_user, "kms:Encrypt"):
        encrypt(untagged_user, beta["KeyId"])


def test_role_tags_are_the_sessions_principal_tags(acct):
    user = acct.create_user("abacrole")
    role = acct.create_role("abac", trust=trust(user.arn),
                            tags={"Project": "gamma"}, policies={"abac": ABAC_USE})
    gamma, delta = _tagged_key(acct, Project="gamma"), _tagged_key(acct, Project="delta")
    session = acct.assume(user, role)
    roundtrip(session, gamma["KeyId"])
    with denied(session, "kms:Encrypt"):
        encrypt(session, delta["KeyId"])


def test_request_tags_on_create_key(acct):
    """CreateKey with Tags also needs kms:TagResource (CreateKey API reference, Tags)."""
    user = acct.create_user("reqtag", tags={"Project": "alpha"}, policies={"create": doc(allow(
        ["kms:CreateKey", "kms:TagResource"],
        condition={"StringEquals": {"aws:RequestTag/Project": "${aws:PrincipalTag/Project}"},
                   "ForAllValues:StringEquals": {"aws:TagKeys": ["Project"]}}))})
    made = user.kms.create_key(Description=unique("abac"), Tags=[{"TagKey": "Project", "TagValue": "alpha"}])
    assert acct.kms.list_resource_tags(KeyId=made["KeyMetadata"]["KeyId"])["Tags"] == \
        [{"TagKey": "Project", "TagValue": "alpha"}]
    before = key_ids(acct.kms)
    with denied(user, "kms:CreateKey"):
        user.kms.create_key(Tags=[{"TagKey": "Project", "TagValue": "beta"}])
    with denied(user, "kms:CreateKey"):
        user.kms.create_key()  # no Project request tag
    with denied(user, "kms:CreateKey"):
        user.kms.create_key(Tags=[{"TagKey": "Project", "TagValue": "alpha"}, {"TagKey": "Extra", "TagValue": "x"}])
    assert key_ids(acct.kms) == before


def test_create_key_with_tags_needs_tag_resource(acct):
    user = acct.create_user("notagperm", policies={"create": doc(allow("kms:CreateKey"))})
    user.kms.create_key(Description=unique("untagged"))
    before = key_ids(acct.kms)
    with denied(user):
        user.kms.create_key(Tags=[{"TagKey": "Project", "TagValue": "alpha"}])
    assert key_ids(acct.kms) == before


def test_tag_keys_and_request_tags_on_tag_resource(acct):
    key = new_key(acct)
    user = acct.create_user("tagger", policies={
        "tag": doc(allow("kms:TagResource", key["Arn"], condition={
            "ForAllValues:StringEquals": {"aws:TagKeys": ["Env", "Owner"]},
            "StringEqualsIfExists": {"aws:RequestTag/Env": ["dev", "test"]}})),
        "untag": doc(allow("kms:UntagResource", key["Arn"], condition={
            "ForAllValues:StringEquals": {"aws:TagKeys": ["Owner"]}})),
    })
    user.kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "Env", "TagValue": "dev"},
                                                    {"TagKey": "Owner", "TagValue": "me"}])
    with denied(user, "kms:TagResource"):
        user.kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "Secret", "TagValue": "x"}])
    with denied(user, "kms:TagResource"):
        user.kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "Env", "TagValue": "prod"}])
    with denied(user, "kms:UntagResource"):
        user.kms.untag_resource(KeyId=key["KeyId"], TagKeys=["Env"])
    user.kms.untag_resource(KeyId=key["KeyId"], TagKeys=["Owner"])
    assert acct.kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "Env", "TagValue": "dev"}]


def test_resource_tag_deny_in_the_key_policy(acct):
    user = acct.create_user("protected", policies={"all": doc(allow("kms:*"))})
    key = _tagged_key(acct, Protected="true")
    acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=key_policy(ACCOUNT_ID, deny(
        "kms:ScheduleKeyDeletion", principal="*", condition={"StringEquals": {"aws:ResourceTag/Protected": "true"}})))
    with denied(user, "kms:ScheduleKeyDeletion"):
        user.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert key_state(acct, key["KeyId"]) == "Enabled"
    acct.kms.untag_resource(KeyId=key["KeyId"], TagKeys=["Protected"])
    user.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert key_state(acct, key["KeyId"]) == "PendingDeletion"


def test_alias_permissions_use_the_alias_resource(acct):
    """CreateAlias needs kms:CreateAlias on the alias (IAM policy) and on the key
    ("Controlling access to aliases")."""
    key = new_key(acct)
    user = acct.create_user("aliaser", policies={"alias": doc(allow(
        "kms:CreateAlias", [f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:alias/team-*", key["Arn"]]))})
    good = f"alias/team-{uuid.uuid4().hex[:12]}"
    user.kms.create_alias(AliasName=good, TargetKeyId=key["KeyId"])
    with denied(user, "kms:CreateAlias"):
        user.kms.create_alias(AliasName=unique_alias("other"), TargetKeyId=key["KeyId"])
    with denied(user, "kms:CreateAlias"):
        user.kms.create_alias(AliasName=f"alias/team-{uuid.uuid4().hex[:12]}", TargetKeyId=new_key(acct)["KeyId"])
    assert {a["AliasName"] for a in acct.kms.list_aliases(KeyId=key["KeyId"])["Aliases"]} == {good}


# =====================================================================================
# 8. the key policy lockout safety check, and root
# =====================================================================================


def test_create_key_lockout_check_and_its_bypass(acct):
    user = acct.create_user("sole-admin")
    sole = key_policy(None, allow("kms:*", principal=user.arn))
    before = key_ids(acct.kms)
    with raises_kms("MalformedPolicyDocumentException") as info:
        acct.kms.create_key(Description=unique("locked"), Policy=sole)
    assert error_of(info.value)[1] == LOCKOUT_MESSAGE
    assert key_ids(acct.kms) == before

    meta = acct.kms.create_key(Description=unique("bypass"), Policy=sole,
                               BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    # root is now locked out of this key; the named user is not
    with denied(acct.root, "kms:DescribeKey"):
        acct.kms.describe_key(KeyId=meta["KeyId"])
    with denied(acct.root, "kms:PutKeyPolicy"):
        acct.kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=key_policy(ACCOUNT_ID))
    roundtrip(user, meta["KeyId"])
    user.kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default",
                            Policy=key_policy(ACCOUNT_ID, allow("kms:*", principal=user.arn)))
    assert acct.kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyId"] == meta["KeyId"]


def test_put_key_policy_lockout_check_and_its_bypass(acct):
    key = new_key(acct)
    user = acct.create_user("successor")
    # only DescribeKey for the account: root could not update the policy again
    policy = key_policy(None, allow("kms:DescribeKey", principal=acct.root_arn), allow("kms:*", principal=user.arn))
    with raises_kms("MalformedPolicyDocumentException") as info:
        acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
    assert error_of(info.value)[1] == LOCKOUT_MESSAGE
    assert json.loads(acct.kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == \
        default_policy(ACCOUNT_ID)

    # an explicit Deny of PutKeyPolicy for the caller fails the check too
    denying = key_policy(ACCOUNT_ID, deny("kms:PutKeyPolicy", principal=acct.root_arn))
    with raises_kms("MalformedPolicyDocumentException", mentions=(LOCKOUT_MESSAGE,)):
        acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=denying)

    # a policy that keeps PutKeyPolicy for the account passes
    acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=key_policy(
        None, allow(["kms:PutKeyPolicy", "kms:GetKeyPolicy"], principal=acct.root_arn)))

    acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy,
                            BypassPolicyLockoutSafetyCheck=True)
    with denied(acct.root, "kms:GetKeyPolicy"):
        acct.kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")
    assert json.loads(user.kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == \
        json.loads(policy)


def test_lockout_check_applies_to_the_calling_user(acct):
    user = acct.create_user("caller", policies={"all": doc(allow("kms:*"))})
    someone = acct.create_user("someone-else")
    key = user.kms.create_key(Description=unique("user-made"))["KeyMetadata"]
    with raises_kms("MalformedPolicyDocumentException", mentions=(LOCKOUT_MESSAGE,)):
        user.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                                Policy=key_policy(None, allow("kms:*", principal=someone.arn)))
    with raises_kms("MalformedPolicyDocumentException", mentions=(LOCKOUT_MESSAGE,)):
        user.kms.create_key(Policy=key_policy(None, allow("kms:*", principal=someone.arn)))
    # naming the caller itself passes
    user.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                            Policy=key_policy(None, allow("kms:*", principal=user.arn)))
    user.kms.describe_key(KeyId=key["KeyId"])


def test_root_keeps_full_access_under_the_default_policy(acct):
    key = new_key(acct)
    kid = key["KeyId"]
    roundtrip(acct.root, kid, {"a": "b"})
    alias = unique_alias("root")
    acct.kms.create_alias(AliasName=alias, TargetKeyId=kid)
    acct.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "t", "TagValue": "v"}])
    grant = acct.kms.create_grant(KeyId=kid, GranteePrincipal=acct.root_arn, Operations=["Encrypt"])
    acct.kms.list_grants(KeyId=kid)
    acct.kms.revoke_grant(KeyId=kid, GrantId=grant["GrantId"])
    acct.kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=key_policy(ACCOUNT_ID))
    acct.kms.disable_key(KeyId=kid)
    acct.kms.enable_key(KeyId=kid)
    acct.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    acct.kms.cancel_key_deletion(KeyId=kid)
    acct.kms.generate_random(NumberOfBytes=4)
    acct.kms.list_retirable_grants(RetiringPrincipal=acct.root_arn)
    acct.iam.list_users()
    acct.iam.list_roles()


# =====================================================================================
# 9. what an AccessDeniedException says
# =====================================================================================


def test_access_denied_messages_never_reveal_policies(acct):
    secret_sid = "SidNobodyShouldSee" + uuid.uuid4().hex[:8]
    secret_value = "ConditionValue" + uuid.uuid4().hex[:8]
    secret_policy_name = "PolicyName" + uuid.uuid4().hex[:8]
    user = acct.create_user("msg")
    acct.put_user_policy(user.name, secret_policy_name, doc(
        allow(["kms:Encrypt", "kms:DescribeKey"], sid=secret_sid + "Iam"),
        deny("kms:GenerateDataKey", sid=secret_sid + "IamDeny")))
    key = new_key(acct, key_policy(
        ACCOUNT_ID,
        deny("kms:Decrypt", principal=user.arn, sid=secret_sid + "KeyDeny"),
        allow("kms:ReEncrypt*", principal=user.arn, sid=secret_sid + "Cond",
              condition={"StringEquals": {"kms:EncryptionContext:Team": secret_value}}),
    ))
    blob = acct.kms.encrypt(KeyId=key["KeyId"], Plaintext=PLAINTEXT)["CiphertextBlob"]
    messages = []
    for call, action in [
        (lambda: user.kms.decrypt(CiphertextBlob=blob), "kms:Decrypt"),                     # key policy Deny
        (lambda: user.kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256"), "kms:GenerateDataKey"),
        (lambda: user.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key["KeyId"]), "kms:ReEncrypt"),
        (lambda: user.kms.disable_key(KeyId=key["KeyId"]), "kms:DisableKey"),               # no Allow at all
        (lambda: user.kms.list_aliases(), "kms:ListAliases"),
    ]:
        with denied(user, action) as info:
            call()
        messages.append(error_of(info.value)[1])
    for message in messages:
        for secret in (secret_sid, secret_value, secret_policy_name, '"Effect"', "Statement", "Condition"):
            assert secret not in message, f"AccessDeniedException message reveals {secret!r}: {message!r}"


def test_access_denied_names_the_session_arn(acct):
    user = acct.create_user("msgsession")
    role = acct.create_role("msgsession", trust=trust(user.arn))
    session = acct.assume(user, role, "who-am-i")
    assert session.arn == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role.name}/who-am-i"
    with denied(session, "kms:Encrypt"):
        encrypt(session, new_key(acct)["KeyId"])


# =====================================================================================
# finer points of evaluation
# =====================================================================================


def test_negated_operator_with_an_absent_key_is_true(acct):
    """"If the policy condition requires that the key is not matched, such as
    StringNotLike or ArnNotLike, and the right key is not present, the condition is
    true" (IAM, Condition operators). So a Deny on StringNotEquals fails closed."""
    key = new_key(acct, key_policy(ACCOUNT_ID, deny(
        "kms:Encrypt", principal="*",
        condition={"StringNotEquals": {"kms:EncryptionContext:Department": ["IT", "HR"]}})))
    kid = key["KeyId"]
    encrypt(acct.root, kid, {"Department": "IT"})
    encrypt(acct.root, kid, {"Department": "HR"})  # several values: OR
    with denied(acct.root, "kms:Encrypt"):
        encrypt(acct.root, kid, {"Department": "Sales"})
    with denied(acct.root, "kms:Encrypt"):
        encrypt(acct.root, kid)  # absent key: StringNotEquals is true, the Deny applies


def test_several_condition_keys_and_operators_must_all_hold(acct):
    user = acct.create_user("andcond")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        "kms:GenerateDataKey", principal=user.arn,
        condition={"StringEquals": {"kms:EncryptionContext:Department": "IT",
                                    "kms:EncryptionContext:Project": "Alpha"},
                   "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]}})))
    kid = key["KeyId"]
    user.kms.generate_data_key(KeyId=kid, KeySpec="AES_256",
                               EncryptionContext={"Department": "IT", "Project": "Alpha"})
    for context in ({"Department": "IT"}, {"Project": "Alpha"},
                    {"Department": "IT", "Project": "Alpha", "Stage": "x"}, {}):
        with denied(user, "kms:GenerateDataKey"):
            user.kms.generate_data_key(KeyId=kid, KeySpec="AES_256", EncryptionContext=context)


def test_encryption_context_condition_key_is_case_insensitive(acct):
    """"the condition key, which consists of the kms:EncryptionContext: prefix and
    the context-key replacement, is not case sensitive" (Condition keys for AWS
    KMS, Case sensitivity of the encryption context condition); the value's case
    follows the operator."""
    user = acct.create_user("ctxcase")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        "kms:Encrypt", principal=user.arn,
        condition={"StringEquals": {"kms:EncryptionContext:Appname": "ExampleApp"}})))
    kid = key["KeyId"]
    encrypt(user, kid, {"AppName": "ExampleApp"})
    encrypt(user, kid, {"appname": "ExampleApp"})
    with denied(user, "kms:Encrypt"):
        encrypt(user, kid, {"AppName": "exampleapp"})
    acct.kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=key_policy(ACCOUNT_ID, allow(
        "kms:Encrypt", principal=user.arn,
        condition={"StringEqualsIgnoreCase": {"KMS:ENCRYPTIONCONTEXT:APPNAME": "exampleapp"}})))
    encrypt(user, kid, {"AppName": "ExampleApp"})


def test_boolean_condition_values_and_principal_forms(acct):
    """JSON booleans as condition values (the developer guide's own Null example),
    "Principal": "*" as a bare string, and a list of principals."""
    u1, u2, u3 = acct.create_user("pf1"), acct.create_user("pf2"), acct.create_user("pf3")
    policy = json.dumps(doc(
        root_statement_dict(),
        {"Effect": "Allow", "Principal": {"AWS": [u1.arn, u2.arn]}, "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"Null": {"kms:EncryptionContextKeys": False}}},
        {"Effect": "Allow", "Principal": "*", "Action": "kms:DescribeKey", "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT_ID}}},
    ))
    key = new_key(acct, policy)
    encrypt(u1, key["KeyId"], {"a": "b"})
    encrypt(u2, key["KeyId"], {"a": "b"})
    with denied(u1, "kms:Encrypt"):
        encrypt(u1, key["KeyId"])
    with denied(u3, "kms:Encrypt"):
        encrypt(u3, key["KeyId"], {"a": "b"})
    u3.kms.describe_key(KeyId=key["KeyId"])


def root_statement_dict() -> dict:
    return json.loads(key_policy(ACCOUNT_ID))["Statement"][0]


def test_identity_policy_resources_are_key_arns_not_alias_arns(acct):
    """An alias in the request is resolved first; IAM Resource elements are matched
    against the key ARN ("Controlling access to aliases": an alias ARN in Resource
    does not control access to the key)."""
    key = new_key(acct)
    alias = unique_alias("res")
    acct.kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    by_key = acct.create_user("reskey", policies={"p": doc(allow("kms:Encrypt", key["Arn"]))})
    assert encrypt(by_key, alias)["KeyId"] == key["Arn"]
    assert encrypt(by_key, acct.alias_arn(alias))["KeyId"] == key["Arn"]
    by_alias = acct.create_user("resalias", policies={"p": doc(allow("kms:Encrypt", acct.alias_arn(alias)))})
    with denied(by_alias, "kms:Encrypt"):
        encrypt(by_alias, alias)


def test_resource_wildcards_in_identity_policies(acct):
    key = new_key(acct)
    prefix = key["KeyId"][:8]
    user = acct.create_user("reswild", policies={"p": doc(allow(
        "kms:Encrypt", f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{prefix}-????-*"))})
    encrypt(user, key["KeyId"])
    other_key = new_key(acct)
    if other_key["KeyId"][:8] != prefix:
        with denied(user, "kms:Encrypt"):
            encrypt(user, other_key["KeyId"])
    elsewhere = acct.create_user("resregion", policies={"p": doc(allow(
        "kms:Encrypt", f"arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/*"))})
    with denied(elsewhere, "kms:Encrypt"):
        encrypt(elsewhere, key["KeyId"])


def test_identity_policy_may_not_name_a_principal(acct):
    user = acct.create_user("withprincipal")
    with query_error("MalformedPolicyDocument", 400):
        acct.put_user_policy(user.name, "p", doc(allow("kms:*", principal=acct.root_arn)))
    assert acct.iam.list_user_policies(UserName=user.name)["PolicyNames"] == []


def test_key_policy_principals_must_exist(acct):
    """"The principals in the key policy must exist and be visible to AWS KMS"
    (PutKeyPolicy / CreateKey API reference, Policy); otherwise
    MalformedPolicyDocumentException ("Policy contains a statement with one or more
    invalid principals")."""
    key = new_key(acct)
    ghost = acct.user_arn(unique("ghost"))
    with raises_kms("MalformedPolicyDocumentException"):
        acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                                Policy=key_policy(ACCOUNT_ID, allow("kms:Encrypt", principal=ghost)))
    with raises_kms("MalformedPolicyDocumentException"):
        acct.kms.create_key(Policy=key_policy(ACCOUNT_ID, allow("kms:Encrypt", principal=acct.role_arn(
            unique("ghost")))))
    assert json.loads(acct.kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == \
        default_policy(ACCOUNT_ID)


def _delete_user(acct, user: Principal, policy_names=()) -> None:
    for name in policy_names:
        acct.iam.delete_user_policy(UserName=user.name, PolicyName=name)
    for k in acct.iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]:
        acct.iam.delete_access_key(UserName=user.name, AccessKeyId=k["AccessKeyId"])
    acct.iam.delete_user(UserName=user.name)


def _recreate_user(acct, name: str) -> Principal:
    user = acct.iam.create_user(UserName=name)["User"]
    key = acct.iam.create_access_key(UserName=name)["AccessKey"]
    return Principal(acct.endpoint, acct.account_id, user["Arn"],
                     Creds(key["AccessKeyId"], key["SecretAccessKey"]), name=name, user_id=user["UserId"])


def test_recreated_user_does_not_inherit_a_key_policy_grant(acct):
    """A key policy principal is bound to the user's unique id: "Unique IDs ensure the
    new Alice can't inherit the permissions granted to the old Alice" (AWS Knowledge
    Center, kms-policy-error-invalid-principals)."""
    original = acct.create_user("alice")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow("kms:Encrypt", principal=original.arn)))
    encrypt(original, key["KeyId"])
    _delete_user(acct, original)
    newcomer = _recreate_user(acct, original.name)
    assert newcomer.arn == original.arn and newcomer.user_id != original.user_id
    with denied(newcomer, "kms:Encrypt"):
        encrypt(newcomer, key["KeyId"])


def test_recreated_user_does_not_inherit_a_trust_policy(acct):
    """"that ARN transforms to the ... unique principal ID when you save the policy"
    (IAM JSON policy elements: Principal)."""
    original = acct.create_user("bob")
    role = acct.create_role("bobs", trust=trust(original.arn))
    acct.assume(original, role)
    _delete_user(acct, original)
    newcomer = _recreate_user(acct, original.name)
    with query_error("AccessDenied", 403):
        newcomer.sts.assume_role(RoleArn=role.arn, RoleSessionName="impostor")


def test_trust_policy_principals_must_exist(acct):
    """IAM refuses a trust policy naming a principal that does not exist
    (MalformedPolicyDocument, "Invalid principal in policy")."""
    name = unique("ghosttrust")
    with query_error("MalformedPolicyDocument", 400):
        acct.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            trust(acct.user_arn(unique("ghost")))))
    with query_error("NoSuchEntity", 404):
        acct.iam.get_role(RoleName=name)


def test_get_caller_identity_survives_a_deny_everything_policy(acct):
    """"If an administrator attaches a policy to your identity that explicitly denies
    access to the sts:GetCallerIdentity action, you can still perform this operation"
    (STS GetCallerIdentity API reference)."""
    user = acct.create_user("denyall", policies={"none": doc(deny("*"))})
    assert user.sts.get_caller_identity()["Arn"] == user.arn
    key = new_key(acct, key_policy(ACCOUNT_ID, allow("kms:Encrypt", principal=user.arn)))
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_authorization_comes_before_key_state(acct):
    """An unauthorized caller learns nothing about the key's state; an authorized one
    gets the state error."""
    user = acct.create_user("state", policies={"use": doc(allow("kms:Encrypt"))})
    stranger = acct.create_user("statestranger")
    disabled = new_key(acct)
    acct.kms.disable_key(KeyId=disabled["KeyId"])
    pending = new_key(acct)
    acct.kms.schedule_key_deletion(KeyId=pending["KeyId"], PendingWindowInDays=7)
    with denied(stranger, "kms:Encrypt"):
        encrypt(stranger, disabled["KeyId"])
    with denied(stranger, "kms:Encrypt"):
        encrypt(stranger, pending["KeyId"])
    with raises_kms("DisabledException"):
        encrypt(user, disabled["KeyId"])
    with raises_kms("KMSInvalidStateException"):
        encrypt(user, pending["KeyId"])


def test_dry_run_reports_the_decision_without_acting(acct):
    """DryRun answers DryRunOperationException (HTTP 412) when the request would
    succeed, the real error otherwise (API reference, DryRun; "Testing your
    permissions")."""
    key = new_key(acct)
    user = acct.create_user("dryrun")
    with raises_kms("DryRunOperationException", 412):
        acct.kms.encrypt(KeyId=key["KeyId"], Plaintext=PLAINTEXT, DryRun=True)
    with denied(user, "kms:Encrypt"):
        user.kms.encrypt(KeyId=key["KeyId"], Plaintext=PLAINTEXT, DryRun=True)
    with raises_kms("DryRunOperationException", 412):
        acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user.arn, Operations=["Encrypt"], DryRun=True)
    assert acct.kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    with denied(user, "kms:Encrypt"):
        encrypt(user, key["KeyId"])


def test_stranger_cannot_retire_by_token(acct):
    key = new_key(acct)
    grantee, stranger = acct.create_user("tokgr"), acct.create_user("tokstr")
    token = acct.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn,
                                  Operations=["Encrypt"])["GrantToken"]
    with denied(stranger):
        stranger.kms.retire_grant(GrantToken=token)
    encrypt(grantee, key["KeyId"])


def test_self_management_with_the_username_variable(acct):
    """IAM's documented pattern: a user manages only its own access keys through
    arn:aws:iam::ACCOUNT:user/${aws:username}."""
    policy = doc(allow(["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"],
                       f"arn:aws:iam::{ACCOUNT_ID}:user/${{aws:username}}"))
    user = acct.create_user("self", policies={"self": policy})
    other_user = acct.create_user("notself")
    made = user.iam.create_access_key(UserName=user.name)["AccessKey"]
    assert {k["AccessKeyId"] for k in user.iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]} == \
        {user.creds.access_key_id, made["AccessKeyId"]}
    with query_error("AccessDenied", 403):
        user.iam.create_access_key(UserName=other_user.name)
    with query_error("AccessDenied", 403):
        user.iam.list_access_keys(UserName=other_user.name)
    user.iam.delete_access_key(UserName=user.name, AccessKeyId=made["AccessKeyId"])


# =====================================================================================
# more about sessions
# =====================================================================================


def test_role_policy_changes_reach_existing_sessions(acct):
    user = acct.create_user("livepol")
    role = acct.create_role("livepol", trust=trust(user.arn), policies={"use": doc(allow("kms:Encrypt"))})
    key = new_key(acct)
    session = acct.assume(user, role)
    encrypt(session, key["KeyId"])
    acct.iam.delete_role_policy(RoleName=role.name, PolicyName="use")
    with denied(session, "kms:Encrypt"):
        encrypt(session, key["KeyId"])
    acct.iam.put_role_policy(RoleName=role.name, PolicyName="use", PolicyDocument=json.dumps(
        doc(allow("kms:Encrypt"))))
    encrypt(session, key["KeyId"])


def test_session_policy_narrows_the_session(acct):
    """A session policy passed to AssumeRole limits the session to the
    intersection with the role's policies (STS AssumeRole, Policy)."""
    user = acct.create_user("sesspol")
    role = acct.create_role("sesspol", trust=trust(user.arn),
                            policies={"use": doc(allow(["kms:Encrypt", "kms:DescribeKey"]))})
    key = new_key(acct)
    session_policy = json.dumps(doc(allow("kms:DescribeKey")))
    try:
        session = acct.assume(user, role, Policy=session_policy)
    except ClientError as exc:
        # Not enforcing session policies is acceptable only as an explicit refusal:
        # a session must never be issued with the Policy silently ignored.
        code, message, _ = error_of(exc)
        assert code == "UnsupportedOperation" and "Policy" in message, (code, message)
        return
    session.kms.describe_key(KeyId=key["KeyId"])
    with denied(session, "kms:Encrypt"):
        encrypt(session, key["KeyId"])


def test_cross_account_assume_role(acct, other):
    """B's user assumes A's role (trust names B's account, B's IAM allows
    sts:AssumeRole on it); the session acts in account A."""
    b_user = other.create_user("xassume")
    role = acct.create_role("xrole", trust=trust(other.root_arn),
                            policies={"use": doc(allow(["kms:Encrypt", "kms:Decrypt"]))})
    with query_error("AccessDenied", 403):
        b_user.sts.assume_role(RoleArn=role.arn, RoleSessionName="no-iam")
    other.put_user_policy(b_user.name, "assume", doc(allow("sts:AssumeRole", role.arn)))
    session = acct.assume(b_user, role, "from-b")
    ident = session.sts.get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role.name}/from-b"
    key = new_key(acct)
    roundtrip(session, key["KeyId"])  # a plain key id: the session's account is A
    with denied(session, "kms:Encrypt"):
        encrypt(session, new_key(other)["Arn"])


def test_role_chaining(acct):
    user = acct.create_user("chain")
    first = acct.create_role("first", trust=trust(user.arn), policies={"hop": doc(allow("sts:AssumeRole"))})
    second = acct.create_role("second", trust=trust(first.arn), policies={"use": doc(allow("kms:Encrypt"))})
    key = new_key(acct)
    hop = acct.assume(user, first)
    with denied(hop, "kms:Encrypt"):
        encrypt(hop, key["KeyId"])
    final = acct.assume(hop, second, "chained")
    assert final.sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{second.name}/chained"
    encrypt(final, key["KeyId"])
    with query_error("AccessDenied", 403):
        user.sts.assume_role(RoleArn=second.arn, RoleSessionName="skip")


# =====================================================================================
# resources, NotResource, alias updates, policy versions
# =====================================================================================


def test_key_policy_resource_other_than_star(acct):
    """In a key policy, Resource "*" means the key itself; a statement whose Resource
    is the key's ARN applies, one naming another key's ARN does not."""
    user = acct.create_user("kpres")
    key, other_key = new_key(acct), new_key(acct)
    acct.kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=key_policy(
        ACCOUNT_ID, allow("kms:Encrypt", key["Arn"], principal=user.arn),
        allow("kms:Decrypt", other_key["Arn"], principal=user.arn)))
    blob = encrypt(user, key["KeyId"])["CiphertextBlob"]
    with denied(user, "kms:Decrypt"):
        user.kms.decrypt(CiphertextBlob=blob)


def test_not_resource_in_an_identity_policy(acct):
    fenced, open_key = new_key(acct), new_key(acct)
    user = acct.create_user("notres", policies={"p": doc(
        {"Effect": "Allow", "Action": "kms:Encrypt", "NotResource": fenced["Arn"]})})
    encrypt(user, open_key["KeyId"])
    with denied(user, "kms:Encrypt"):
        encrypt(user, fenced["KeyId"])


def test_arn_like_on_principal_arn(acct):
    team = acct.create_user("team-a")
    outsider = acct.create_user("solo")
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        "kms:Encrypt", principal="*",
        condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT_ID}:user/team-*"}})))
    encrypt(team, key["KeyId"])
    with denied(outsider, "kms:Encrypt"):
        encrypt(outsider, key["KeyId"])


def test_update_alias_needs_permission_on_both_keys(acct):
    """UpdateAlias needs kms:UpdateAlias on the alias, the current key and the new
    key (UpdateAlias API reference, Required permissions)."""
    old_key, new_target, third = new_key(acct), new_key(acct), new_key(acct)
    alias = unique_alias("upd")
    acct.kms.create_alias(AliasName=alias, TargetKeyId=old_key["KeyId"])
    user = acct.create_user("aliasupd", policies={"p": doc(allow(
        "kms:UpdateAlias", [acct.alias_arn(alias), new_target["Arn"], third["Arn"]]))})
    with denied(user, "kms:UpdateAlias"):
        user.kms.update_alias(AliasName=alias, TargetKeyId=new_target["KeyId"])
    assert acct.kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == old_key["KeyId"]
    acct.put_user_policy(user.name, "p", doc(allow(
        "kms:UpdateAlias", [acct.alias_arn(alias), old_key["Arn"], new_target["Arn"]])))
    user.kms.update_alias(AliasName=alias, TargetKeyId=new_target["KeyId"])
    assert acct.kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == new_target["KeyId"]


def test_delete_alias_needs_permission_on_the_key_too(acct):
    key = new_key(acct)
    alias = unique_alias("del")
    acct.kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    user = acct.create_user("aliasdel", policies={"p": doc(allow("kms:DeleteAlias", acct.alias_arn(alias)))})
    with denied(user, "kms:DeleteAlias"):
        user.kms.delete_alias(AliasName=alias)
    acct.put_user_policy(user.name, "p", doc(allow("kms:DeleteAlias", [acct.alias_arn(alias), key["Arn"]])))
    user.kms.delete_alias(AliasName=alias)
    with raises_kms("NotFoundException"):
        acct.kms.describe_key(KeyId=alias)


def test_policy_variables_need_version_2012(acct):
    """"Policy variables ... work only with version 2012-10-17"; in older versions they
    are literal text (IAM, Policy variables)."""
    old = {"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListAccessKeys",
                                                   "Resource": f"arn:aws:iam::{ACCOUNT_ID}:user/${{aws:username}}"}]}
    user = acct.create_user("oldversion", policies={"p": old})
    with query_error("AccessDenied", 403):
        user.iam.list_access_keys(UserName=user.name)
    acct.put_user_policy(user.name, "p", {**old, "Version": "2012-10-17"})
    assert len(user.iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]) == 1


def test_statement_may_be_a_single_object(acct):
    key = new_key(acct)
    user = acct.create_user("single", policies={"p": {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "kms:Encrypt", "Resource": key["Arn"]}}})
    encrypt(user, key["KeyId"])


def test_grant_is_for_aws_resource_is_never_true(acct):
    """AWS's "Allow attachment of persistent resources" statement only lets integrated
    services create grants; with none, a key user cannot."""
    user, grantee = acct.create_user("persist"), acct.create_user("persistee")
    key = new_key(acct, key_policy(
        ACCOUNT_ID, allow(KEY_USER_ACTIONS, principal=user.arn),
        allow(["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], principal=user.arn,
              condition={"Bool": {"kms:GrantIsForAWSResource": "true"}})))
    with denied(user, "kms:CreateGrant"):
        user.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Decrypt"])
    with denied(user, "kms:ListGrants"):
        user.kms.list_grants(KeyId=key["KeyId"])


def test_cross_account_grant_management(acct, other):
    """CreateGrant and ListGrants work across accounts (both "Cross-account use: Yes")
    when the key policy and the caller's IAM policy allow them."""
    key = new_key(acct, key_policy(ACCOUNT_ID, allow(
        ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:Encrypt", "kms:Decrypt"],
        principal=other.root_arn)))
    b_admin = other.create_user("xgrantadmin", policies={"p": doc(allow(
        ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], key["Arn"]))})
    b_app = other.create_user("xgrantapp")
    with denied(b_app, "kms:Encrypt"):
        encrypt(b_app, key["Arn"])
    grant_id = b_admin.kms.create_grant(KeyId=key["Arn"], GranteePrincipal=b_app.arn,
                                        Operations=["Encrypt", "Decrypt"])["GrantId"]
    roundtrip(b_app, key["Arn"])
    listed = b_admin.kms.list_grants(KeyId=key["Arn"])["Grants"]
    assert [(g["GrantId"], g["GranteePrincipal"], g["KeyId"]) for g in listed] == [(grant_id, b_app.arn, key["Arn"])]
    b_admin.kms.revoke_grant(KeyId=key["Arn"], GrantId=grant_id)
    with denied(b_app, "kms:Encrypt"):
        encrypt(b_app, key["Arn"])


def test_lockout_check_for_a_role_session(acct):
    user = acct.create_user("lockrole")
    role = acct.create_role("lockrole", trust=trust(user.arn), policies={"all": doc(allow("kms:*"))})
    session = acct.assume(user, role)
    # naming the role passes the check for its session
    made = session.kms.create_key(Policy=key_policy(None, allow("kms:*", principal=role.arn)))["KeyMetadata"]
    roundtrip(session, made["KeyId"])
    with raises_kms("MalformedPolicyDocumentException", mentions=(LOCKOUT_MESSAGE,)):
        session.kms.create_key(Policy=key_policy(None, allow("kms:*", principal=user.arn)))


# =====================================================================================
# more STS: external ids, durations, chaining limits
# =====================================================================================


def test_external_id_condition_in_a_trust_policy(acct, other):
    """The confused-deputy guard: a trust policy requiring sts:ExternalId."""
    b_user = other.create_user("extid")
    role = acct.create_role("extid", trust=trust(other.root_arn,
                                                 condition={"StringEquals": {"sts:ExternalId": "Unique-1234"}}))
    other.put_user_policy(b_user.name, "assume", doc(allow("sts:AssumeRole", role.arn)))
    with query_error("AccessDenied", 403):
        b_user.sts.assume_role(RoleArn=role.arn, RoleSessionName="no-external-id")
    with query_error("AccessDenied", 403):
        b_user.sts.assume_role(RoleArn=role.arn, RoleSessionName="wrong", ExternalId="Unique-9999")
    acct.assume(b_user, role, "right", ExternalId="Unique-1234")


def test_max_session_duration_of_a_role(acct):
    user = acct.create_user("maxdur")
    role = acct.create_role("maxdur", trust=trust(user.arn), max_session_duration=7200)
    before = dt.datetime.now(dt.timezone.utc)
    answer = user.sts.assume_role(RoleArn=role.arn, RoleSessionName="long", DurationSeconds=7200)
    assert abs((answer["Credentials"]["Expiration"] - before).total_seconds() - 7200) < 120
    with query_error("ValidationError", 400):
        user.sts.assume_role(RoleArn=role.arn, RoleSessionName="too-long", DurationSeconds=7201)


def test_role_chaining_is_limited_to_one_hour(acct):
    """"If you use role chaining and specify DurationSeconds greater than one hour,
    the operation fails" (IAM, Roles terms and concepts: role chaining; STS
    AssumeRole, DurationSeconds)."""
    user = acct.create_user("chainlimit")
    first = acct.create_role("chainfirst", trust=trust(user.arn), policies={"hop": doc(allow("sts:AssumeRole"))})
    second = acct.create_role("chainsecond", trust=trust(first.arn), max_session_duration=7200)
    hop = acct.assume(user, first)
    with query_error("ValidationError", 400):
        hop.sts.assume_role(RoleArn=second.arn, RoleSessionName="too-long", DurationSeconds=7200)
    acct.assume(hop, second, DurationSeconds=3600)


def test_expired_session_cannot_assume_again(clock_server):
    a = Account(clock_server.endpoint, clock_server.account_id,
                Creds(clock_server.access_key_id, clock_server.secret_access_key))
    user = a.create_user("expchain")
    first = a.create_role("expfirst", trust=trust(user.arn), policies={"hop": doc(allow("sts:AssumeRole"))})
    second = a.create_role("expsecond", trust=trust(first.arn))
    hop = a.assume(user, first, DurationSeconds=900)
    clock_server.advance_clock(901)
    with query_error("ExpiredToken"):
        hop.sts.assume_role(RoleArn=second.arn, RoleSessionName="late")


# =====================================================================================
# durability and secrecy of identities
# =====================================================================================


def test_identities_policies_grants_and_sessions_survive_a_restart(make_server, strongroom_bin):
    srv = make_server("ac-restart")
    srv.start()
    a = Account(srv.endpoint, srv.account_id, Creds(srv.access_key_id, srv.secret_access_key))
    key = new_key(a)
    user = a.create_user("durable", tags={"Project": "alpha"}, policies={"use": doc(allow("kms:Encrypt", key["Arn"]))})
    grantee = a.create_user("durablegrantee")
    grant_id = a.kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee.arn, Operations=["Decrypt"])["GrantId"]
    role = a.create_role("durable", trust=trust(user.arn), policies={"use": doc(allow("kms:DescribeKey"))})
    session = a.assume(user, role)
    made = create_account(strongroom_bin, srv.data_dir)
    denied_user = a.create_user("durabledenied")

    srv.restart()
    a = Account(srv.endpoint, srv.account_id, Creds(srv.access_key_id, srv.secret_access_key))

    def again(p: Principal) -> Principal:
        return Principal(srv.endpoint, p.account_id, p.arn, p.creds, name=p.name, user_id=p.user_id)

    user, grantee, session, denied_user = (again(p) for p in (user, grantee, session, denied_user))
    blob = encrypt(user, key["KeyId"])["CiphertextBlob"]
    assert grantee.kms.decrypt(CiphertextBlob=blob)["Plaintext"] == PLAINTEXT
    assert session.kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    assert session.sts.get_caller_identity()["Arn"] == session.arn
    with denied(denied_user, "kms:Encrypt"):
        encrypt(denied_user, key["KeyId"])
    assert [g["GrantId"] for g in a.kms.list_grants(KeyId=key["KeyId"])["Grants"]] == [grant_id]
    assert a.iam.list_user_tags(UserName=user.name)["Tags"] == [{"Key": "Project", "Value": "alpha"}]
    b = Account(srv.endpoint, made["AccountId"], Creds(made["AccessKeyId"], made["SecretAccessKey"]))
    assert b.root.sts.get_caller_identity()["Account"] == made["AccountId"]


def test_identity_secrets_never_reach_logs_or_the_data_directory(make_server, strongroom_bin):
    """Like test_secrets.py, for the credentials IAM, STS and create-account hand out:
    secret access keys are shown once and stored only wrapped."""
    srv = make_server("ac-secrets")
    srv.start()
    a = Account(srv.endpoint, srv.account_id, Creds(srv.access_key_id, srv.secret_access_key))
    user = a.create_user("secretive", policies={"all": doc(allow("kms:*"))})
    role = a.create_role("secretive", trust=trust(user.arn), policies={"all": doc(allow("kms:*"))})
    session = a.assume(user, role)
    made = create_account(strongroom_bin, srv.data_dir)
    key = new_key(a)
    roundtrip(user, key["KeyId"])
    roundtrip(session, key["KeyId"])
    with raises_kms("UnrecognizedClientException"):  # a failure path too
        client("kms", srv.endpoint, Creds(user.creds.access_key_id, user.creds.secret_access_key,
                                          _garble(session.creds.session_token))).list_keys()
    srv.stop()
    secrets = {
        "user secret": user.creds.secret_access_key.encode(),
        "session secret": session.creds.secret_access_key.encode(),
        "second account root secret": made["SecretAccessKey"].encode(),
    }
    leaks = []
    for path in srv.log_files():
        data = path.read_bytes()
        for label, secret in {**secrets, "session token": session.creds.session_token.encode()}.items():
            leaks += [f"{label} ({form}) in {path}" for form in find_secret(data, secret)]
    for path in sorted(p for p in srv.data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for label, secret in secrets.items():
            leaks += [f"{label} ({form}) in {path}" for form in find_secret(data, secret)]
    assert leaks == []


# =====================================================================================
# the AWS CLI
# =====================================================================================


def test_cli_iam_user_setup_and_denial(server, acct):
    root = acct.root.creds
    name = unique("cliuser")
    created = aws_json(server, root, "iam", "create-user", "--user-name", name)["User"]
    assert created["Arn"] == acct.user_arn(name)
    key = aws_json(server, root, "iam", "create-access-key", "--user-name", name)["AccessKey"]
    creds = Creds(key["AccessKeyId"], key["SecretAccessKey"])
    ident = aws_json(server, creds, "sts", "get-caller-identity")
    assert ident["Arn"] == acct.user_arn(name) and ident["Account"] == ACCOUNT_ID

    kms_key = new_key(acct)
    proc = aws(server, creds, "kms", "encrypt", "--key-id", kms_key["KeyId"], "--plaintext", "aGVsbG8=",
               check=False)
    assert proc.returncode != 0
    assert "AccessDeniedException" in proc.stderr and acct.user_arn(name) in proc.stderr

    policy = json.dumps(doc(allow(["kms:Encrypt", "kms:Decrypt"], kms_key["Arn"])))
    aws(server, root, "iam", "put-user-policy", "--user-name", name, "--policy-name", "use",
        "--policy-document", policy)
    got = aws_json(server, root, "iam", "get-user-policy", "--user-name", name, "--policy-name", "use")
    assert got["PolicyDocument"] == json.loads(policy)
    out = aws_json(server, creds, "kms", "encrypt", "--key-id", kms_key["KeyId"], "--plaintext", "aGVsbG8=")
    assert out["KeyId"] == kms_key["Arn"]


def test_cli_assume_role_then_kms(server, acct, tmp_path):
    user = acct.create_user("cliassumer")
    role = acct.create_role("clirole", trust=trust(user.arn),
                            policies={"use": doc(allow(["kms:GenerateDataKey", "kms:Decrypt"]))})
    key = new_key(acct)
    answer = aws_json(server, user.creds, "sts", "assume-role", "--role-arn", role.arn,
                      "--role-session-name", "cli-session")
    c = answer["Credentials"]
    session = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    ident = aws_json(server, session, "sts", "get-caller-identity")
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role.name}/cli-session"
    dk = aws_json(server, session, "kms", "generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_256")
    (tmp_path / "dk.bin").write_bytes(base64.b64decode(dk["CiphertextBlob"]))
    dec = aws(server, session, "kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'dk.bin'}",
              "--query", "Plaintext", output="text")
    assert base64.b64decode(dec.stdout.strip()) == base64.b64decode(dk["Plaintext"])


def test_cli_grant_token_flow(server, acct):
    """The developer guide's "Using a grant token" example, verbatim in spirit."""
    key = new_key(acct)
    app_user = acct.create_user("appuser")
    token = aws(server, acct.root.creds, "kms", "create-grant", "--key-id", key["KeyId"],
                "--grantee-principal", app_user.arn, "--retiring-principal", acct.root_arn,
                "--operations", "GenerateDataKey", "Decrypt", "--query", "GrantToken", output="text").stdout.strip()
    out = aws_json(server, app_user.creds, "kms", "generate-data-key", "--key-id", key["KeyId"],
                   "--key-spec", "AES_256", "--grant-tokens", token)
    assert out["KeyId"] == key["Arn"]
    aws(server, acct.root.creds, "kms", "retire-grant", "--grant-token", token)
    proc = aws(server, app_user.creds, "kms", "generate-data-key", "--key-id", key["KeyId"],
               "--key-spec", "AES_256", check=False)
    assert proc.returncode != 0 and "AccessDeniedException" in proc.stderr
