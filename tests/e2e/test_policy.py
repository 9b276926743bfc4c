"""Key policies: the default policy, GetKeyPolicy, PutKeyPolicy, ListKeyPolicies
and the refusal of malformed documents."""

from __future__ import annotations

import json
import uuid

import pytest

from kms_helpers import default_policy, raises_kms, unique


def root_statement(account_id: str, sid: str = "Enable IAM User Permissions") -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def policy_with(account_id: str, *extra: dict) -> str:
    doc = {"Version": "2012-10-17", "Statement": [root_statement(account_id), *extra]}
    return json.dumps(doc, separators=(",", ":"))


def current_policy(kms, key_id: str) -> dict:
    return json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def key_count(kms) -> int:
    return sum(len(p["Keys"]) for p in kms.get_paginator("list_keys").paginate())


def test_key_without_policy_gets_the_default_policy(kms, key, account_id):
    response = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")
    policy = json.loads(response["Policy"])
    assert policy["Version"] == "2012-10-17"
    statements = [s for s in policy["Statement"] if s.get("Sid") == "Enable IAM User Permissions"]
    assert len(statements) == 1, policy
    statement = statements[0]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{account_id}:root"}
    assert statement["Action"] == "kms:*"
    assert statement["Resource"] == "*"
    assert policy == default_policy(account_id)
    assert response.get("PolicyName", "default") == "default"


def test_get_key_policy_defaults_the_policy_name(kms, key, account_id):
    assert json.loads(kms.get_key_policy(KeyId=key["Arn"])["Policy"]) == default_policy(account_id)


def test_create_key_with_a_policy(kms, account_id):
    extra = {"Sid": "AllowDescribe", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
             "Action": ["kms:DescribeKey", "kms:Encrypt"], "Resource": "*"}
    text = policy_with(account_id, extra)
    meta = kms.create_key(Description=unique("with-policy"), Policy=text)["KeyMetadata"]
    assert current_policy(kms, meta["KeyId"]) == json.loads(text)


def test_put_key_policy_replaces_the_policy(kms, key, account_id):
    extra = {"Sid": "Second", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
             "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
    text = policy_with(account_id, extra)
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=text)
    assert current_policy(kms, key["KeyId"]) == json.loads(text)
    again = policy_with(account_id)
    kms.put_key_policy(KeyId=key["Arn"], Policy=again)  # PolicyName defaults to "default"
    assert current_policy(kms, key["KeyId"]) == json.loads(again)


def test_list_key_policies_is_default_only(kms, key):
    page = kms.list_key_policies(KeyId=key["KeyId"])
    assert page["PolicyNames"] == ["default"]
    assert page["Truncated"] is False
    limited = kms.list_key_policies(KeyId=key["Arn"], Limit=1)
    assert limited["PolicyNames"] == ["default"]
    assert limited["Truncated"] is False
    pages = list(kms.get_paginator("list_key_policies").paginate(KeyId=key["KeyId"]))
    assert [n for p in pages for n in p["PolicyNames"]] == ["default"]


def test_get_key_policy_with_another_name_is_not_found(kms, key):
    # moto and LocalStack both mirror AWS here: NotFoundException ("No such policy exists").
    with raises_kms("NotFoundException"):
        kms.get_key_policy(KeyId=key["KeyId"], PolicyName="other")


def test_put_key_policy_with_another_name_is_refused(kms, key, account_id):
    """"The only valid value is default." moto answers NotFoundException and
    LocalStack UnsupportedOperationException; either refusal is accepted, and the
    default policy must be unchanged."""
    with raises_kms({"NotFoundException", "UnsupportedOperationException"}):
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="other", Policy=policy_with(account_id))
    assert current_policy(kms, key["KeyId"]) == default_policy(account_id)


@pytest.mark.parametrize("operation, extra", [
    ("get_key_policy", {"PolicyName": "default"}),
    ("list_key_policies", {}),
    ("put_key_policy", {"PolicyName": "default", "Policy": json.dumps(default_policy("111122223333"))}),
])
def test_policy_of_unknown_key_is_not_found(operation, extra, kms):
    with raises_kms("NotFoundException"):
        getattr(kms, operation)(KeyId=str(uuid.uuid4()), **extra)


def _malformed(account_id: str) -> dict[str, str]:
    root = root_statement(account_id)
    return {
        "not JSON": "this is { not json",
        "JSON but not an object": json.dumps(["Version", "2012-10-17"]),
        "no Statement": json.dumps({"Version": "2012-10-17"}),
        "Statement not a list or object": json.dumps({"Version": "2012-10-17", "Statement": "allow all"}),
        "bad Effect": json.dumps({"Version": "2012-10-17", "Statement": [{**root, "Effect": "Maybe"}]}),
        "no Effect": json.dumps({"Version": "2012-10-17",
                                 "Statement": [{k: v for k, v in root.items() if k != "Effect"}]}),
        "no Principal": json.dumps({"Version": "2012-10-17",
                                    "Statement": [{k: v for k, v in root.items() if k != "Principal"}]}),
        "invalid principal": json.dumps({"Version": "2012-10-17", "Statement": [
            root, {**root, "Sid": "Bad", "Principal": {"AWS": "not-an-arn"}}]}),
    }


@pytest.mark.parametrize("case", list(_malformed("111122223333")))
def test_put_malformed_policy_is_refused_and_changes_nothing(case, kms, key, account_id):
    with raises_kms("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=_malformed(account_id)[case])
    assert current_policy(kms, key["KeyId"]) == default_policy(account_id)


@pytest.mark.parametrize("case", ["not JSON", "no Statement", "bad Effect", "invalid principal"])
def test_create_key_with_malformed_policy_creates_nothing(case, kms, account_id):
    before = key_count(kms)
    with raises_kms("MalformedPolicyDocumentException"):
        kms.create_key(Description=unique("malformed"), Policy=_malformed(account_id)[case])
    assert key_count(kms) == before


def _policy_of_size(account_id: str, at_least: int) -> str:
    """A valid policy whose non-whitespace JSON is at least `at_least` bytes."""
    statements, i = [], 0
    while True:
        text = policy_with(account_id, *statements)
        if len(text.encode()) >= at_least:
            return text
        statements.append({"Sid": f"Filler{i:05d}", "Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                           "Action": "kms:DescribeKey", "Resource": "*"})
        i += 1


def test_policy_under_32_kib_is_accepted(kms, key, account_id):
    text = _policy_of_size(account_id, 20_000)
    assert len(text.encode()) < 32_768
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=text)
    assert current_policy(kms, key["KeyId"]) == json.loads(text)


def test_policy_over_32_kib_is_limit_exceeded(kms, key, account_id):
    """The key policy quota is 32 KiB. The API reference (PutKeyPolicy, Policy):
    "If the key policy exceeds the length constraint, KMS returns a
    LimitExceededException." Compact JSON is used so no reading of the quota
    (with or without whitespace) puts this under it."""
    text = _policy_of_size(account_id, 40_000)
    assert 32_768 < len(text.encode()) <= 131_072
    with raises_kms("LimitExceededException"):
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=text)
    assert current_policy(kms, key["KeyId"]) == default_policy(account_id)
    before = key_count(kms)
    with raises_kms("LimitExceededException"):
        kms.create_key(Description=unique("big-policy"), Policy=text)
    assert key_count(kms) == before
