"""Tags: TagResource, UntagResource, ListResourceTags, and tags on CreateKey."""

from __future__ import annotations

import uuid

import pytest

from kms_helpers import raises_kms, unique


def tags_of(kms, key_id: str) -> dict[str, str]:
    pages = kms.get_paginator("list_resource_tags").paginate(KeyId=key_id)
    pairs = [(t["TagKey"], t["TagValue"]) for p in pages for t in p["Tags"]]
    assert len(pairs) == len({k for k, _ in pairs}), f"duplicate tag keys listed: {pairs}"
    return dict(pairs)


def key_count(kms) -> int:
    return sum(len(p["Keys"]) for p in kms.get_paginator("list_keys").paginate())


def test_create_key_with_tags(kms):
    tags = [{"TagKey": "team", "TagValue": "payments"}, {"TagKey": "empty", "TagValue": ""}]
    meta = kms.create_key(Description=unique("tagged"), Tags=tags)["KeyMetadata"]
    assert tags_of(kms, meta["KeyId"]) == {"team": "payments", "empty": ""}
    assert "Tags" not in kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]


def test_new_key_has_no_tags(kms, key):
    page = kms.list_resource_tags(KeyId=key["KeyId"])
    assert page["Tags"] == []
    assert page["Truncated"] is False


def test_tag_untag_and_overwrite(kms, key):
    kms.tag_resource(KeyId=key["KeyId"], Tags=[
        {"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}, {"TagKey": "c", "TagValue": ""}])
    assert tags_of(kms, key["KeyId"]) == {"a": "1", "b": "2", "c": ""}
    kms.tag_resource(KeyId=key["Arn"], Tags=[{"TagKey": "a", "TagValue": "changed"}])
    assert tags_of(kms, key["KeyId"]) == {"a": "changed", "b": "2", "c": ""}
    kms.untag_resource(KeyId=key["KeyId"], TagKeys=["b", "never-set"])
    assert tags_of(kms, key["Arn"]) == {"a": "changed", "c": ""}


def test_tag_keys_and_values_are_case_sensitive(kms, key):
    kms.tag_resource(KeyId=key["KeyId"], Tags=[
        {"TagKey": "Env", "TagValue": "Prod"}, {"TagKey": "env", "TagValue": "prod"}])
    assert tags_of(kms, key["KeyId"]) == {"Env": "Prod", "env": "prod"}


def test_tags_are_per_key(kms, new_key):
    first, second = new_key(), new_key()
    kms.tag_resource(KeyId=first["KeyId"], Tags=[{"TagKey": "only", "TagValue": "first"}])
    assert tags_of(kms, second["KeyId"]) == {}


def test_list_resource_tags_paginates_without_duplicates_or_gaps(kms, key):
    expected = {f"k{i:02d}": f"v{i}" for i in range(7)}
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": k, "TagValue": v} for k, v in expected.items()])
    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"KeyId": key["KeyId"], "Limit": 3} | ({"Marker": marker} if marker else {})
        page = kms.list_resource_tags(**kwargs)
        pages += 1
        assert len(page["Tags"]) <= 3
        seen += [(t["TagKey"], t["TagValue"]) for t in page["Tags"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
        assert marker and pages < 20
    assert pages >= 3
    assert len(seen) == len(set(seen))
    assert dict(seen) == expected


def test_list_resource_tags_paginator(kms, key):
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": f"p{i}", "TagValue": "x"} for i in range(5)])
    pages = list(kms.get_paginator("list_resource_tags").paginate(
        KeyId=key["KeyId"], PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert sorted(t["TagKey"] for p in pages for t in p["Tags"]) == [f"p{i}" for i in range(5)]


def test_tag_limits_at_the_boundary_are_accepted(kms, key):
    long_key, long_value = "k" * 128, "v" * 256
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": long_key, "TagValue": long_value}])
    assert tags_of(kms, key["KeyId"]) == {long_key: long_value}


@pytest.mark.parametrize(
    "tag, member",
    [
        ({"TagKey": "k" * 129, "TagValue": "v"}, "tagKey"),
        ({"TagKey": "", "TagValue": "v"}, "tagKey"),
        ({"TagKey": "k", "TagValue": "v" * 257}, "tagValue"),
    ],
    ids=["key too long", "key empty", "value too long"],
)
def test_tag_length_limits_are_validation_errors(tag, member, kms_raw, key):
    with raises_kms("ValidationException", mentions=(member,)):
        kms_raw.tag_resource(KeyId=key["KeyId"], Tags=[tag])
    assert tags_of(kms_raw, key["KeyId"]) == {}


@pytest.mark.parametrize("tag_key", ["aws:reserved", "aws:"])
def test_aws_prefix_is_a_tag_exception(tag_key, kms, key):
    with raises_kms("TagException"):
        kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": tag_key, "TagValue": "x"}])
    assert tags_of(kms, key["KeyId"]) == {}


def test_create_key_with_reserved_tag_fails_and_creates_nothing(kms):
    before = key_count(kms)
    with raises_kms("TagException"):
        kms.create_key(Description=unique("reserved-tag"), Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    assert key_count(kms) == before


def test_fifty_tags_is_the_limit(kms, key):
    """50 tags per KMS key (AWS tagging quota). Going over is refused and leaves the
    existing tags alone. AWS documents TagException ("tags are not valid") and
    LimitExceededException ("a length constraint or quota was exceeded") for
    TagResource without saying which one this is, so either is accepted."""
    fifty = {f"t{i:02d}": str(i) for i in range(50)}
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": k, "TagValue": v} for k, v in fifty.items()])
    assert tags_of(kms, key["KeyId"]) == fifty
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "t00", "TagValue": "overwrite is fine"}])
    fifty["t00"] = "overwrite is fine"
    with raises_kms({"TagException", "LimitExceededException"}):
        kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "one-too-many", "TagValue": "x"}])
    assert tags_of(kms, key["KeyId"]) == fifty


def test_create_key_with_fifty_one_tags_is_refused(kms):
    before = key_count(kms)
    tags = [{"TagKey": f"t{i}", "TagValue": "x"} for i in range(51)]
    with raises_kms({"TagException", "LimitExceededException"}):
        kms.create_key(Description=unique("too-many-tags"), Tags=tags)
    assert key_count(kms) == before


@pytest.mark.parametrize("operation, extra", [
    ("tag_resource", {"Tags": [{"TagKey": "a", "TagValue": "b"}]}),
    ("untag_resource", {"TagKeys": ["a"]}),
    ("list_resource_tags", {}),
])
def test_tagging_an_unknown_key_is_not_found(operation, extra, kms):
    with raises_kms("NotFoundException"):
        getattr(kms, operation)(KeyId=str(uuid.uuid4()), **extra)
