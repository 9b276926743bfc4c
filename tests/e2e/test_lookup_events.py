"""CloudTrail's LookupEvents over the audit trail: `boto3.client("cloudtrail")` and
`aws cloudtrail lookup-events`, unchanged, against Strongroom.

What is expected comes from CloudTrail's API reference for LookupEvents (and the
botocore model): newest first, MaxResults 1-50 (default 50), a NextToken that must
come back with the same parameters, StartTime and EndTime inclusive, the Event shape
(EventId, EventName, ReadOnly as a string, AccessKeyId, EventTime, EventSource,
Username, Resources, CloudTrailEvent), and the exceptions InvalidLookupAttributes,
InvalidTimeRange, InvalidMaxResults, InvalidNextToken and InvalidEventCategory.
Strongroom's extensions (docs/audit.md): the keys ErrorCode and PrincipalArn, and
several attributes in one request, combined with AND.

Every expectation is computed independently from the trail's files (audit_helpers
reads them), with the matching rules written out again here, and compared with what
the API returns. The lookups themselves are audited (eventSource
cloudtrail.amazonaws.com), so comparisons leave those events out unless a test is
about them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from access_helpers import create_account
from audit_helpers import (
    CLOUDTRAIL_SOURCE,
    KMS_SOURCE,
    audit_dir,
    events,
    parse_event_time,
    segment_content,
    segment_paths,
)
from iam_sts_helpers import allow, aws, aws_json, credentials_env, make_role, make_user, session_client
from kms_helpers import DAY_S, aws_client, build_request, send_raw, unique
from strongroom_server import CLOCK_CONTROL_ARGS, StrongroomServer, random_access_key_id, random_secret_access_key

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
REGION = "us-east-1"
BIG_POLICY_EVENTS = 32  # ~90 KB each: the trail spans at least three 1 MiB segments


def ct_client(srv, akid: str, secret: str, token: str | None = None, *, validate: bool = True):
    return aws_client("cloudtrail", srv.endpoint, akid, secret, token, REGION, validate=validate)


@dataclass
class Trail:
    srv: StrongroomServer
    account: str
    root_ct: Any
    reader: Any  # IamUser allowed cloudtrail:LookupEvents
    nobody: Any  # IamUser without any policy
    denier: Any  # IamUser allowed everything but explicitly denied cloudtrail:LookupEvents
    role: dict
    session: dict  # AssumeRole's answer (a phase-2 session of `role`, assumed by `reader`)
    key_a: dict
    key_b: dict
    other: dict  # the second account: AccountId, AccessKeyId, SecretAccessKey
    other_key: dict
    phase1_end: float
    phase2_start: float


@pytest.fixture(scope="module")
def trail(strongroom_bin, tmp_path_factory) -> Trail:
    """A private server (1 MiB segments, the test clock) and the traffic the lookups read:
    phase 1 by the root, IAM users and a role session (successes and failures), then, ten
    days later on the server's clock, phase 2; and a second account's own traffic."""
    root = tmp_path_factory.mktemp("lookup-events")
    srv = StrongroomServer(strongroom_bin, root / "data", root / "logs", access_key_id=random_access_key_id(),
                           secret_access_key=random_secret_access_key(),
                           extra_args=["--audit-segment-mib", "1", "--audit-digest-interval", "3600",
                                       *CLOCK_CONTROL_ARGS])
    srv.start()
    try:
        kms = aws_client("kms", srv.endpoint, srv.access_key_id, srv.secret_access_key, None, REGION)
        iam = aws_client("iam", srv.endpoint, srv.access_key_id, srv.secret_access_key, None, REGION)
        key_a = kms.create_key(Description="lookup a")["KeyMetadata"]
        key_b = kms.create_key(Description="lookup b")["KeyMetadata"]
        blob = kms.encrypt(KeyId=key_a["KeyId"], Plaintext=b"lookup")["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob)
        with pytest.raises(ClientError):
            kms.describe_key(KeyId="11111111-2222-3333-4444-555555555555")
        reader = make_user(iam, "ct-reader", policy=allow(
            ["cloudtrail:LookupEvents", "sts:AssumeRole", "kms:Encrypt", "kms:DescribeKey"]))
        nobody = make_user(iam, "ct-nobody")
        denier = make_user(iam, "ct-denier", policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "cloudtrail:LookupEvents", "Resource": "*"}]})
        role = make_role(iam, [reader.arn], "ct-role")
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=json.dumps(
            allow(["kms:DescribeKey", "cloudtrail:LookupEvents"])))
        session = reader.client(srv, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ct-session")
        reader_kms = reader.client(srv, "kms")
        reader_kms.encrypt(KeyId=key_a["Arn"], Plaintext=b"r")
        with pytest.raises(ClientError):
            reader_kms.decrypt(CiphertextBlob=blob)  # AccessDeniedException
        session_client(srv, "kms", session["Credentials"]).describe_key(KeyId=key_a["Arn"])
        # ~90 KB events (under the 100 KiB above which parameters are left out) roll segments.
        padded = json.dumps(allow("kms:ListKeys"))[:-1] + " " * 90_000 + "}"
        for _ in range(BIG_POLICY_EVENTS):
            iam.put_user_policy(UserName=nobody.name, PolicyName="big", PolicyDocument=padded)
        iam.delete_user_policy(UserName=nobody.name, PolicyName="big")
        for _ in range(10):
            kms.list_aliases()
        phase1_end = srv.clock_now()
        srv.advance_clock(10 * DAY_S)
        phase2_start = srv.clock_now()
        # The first session expired (and was purged) while the clock moved: a new one.
        session = reader.client(srv, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ct-session")
        kms.encrypt(KeyId=key_a["KeyId"], Plaintext=b"p2")
        reader_kms.encrypt(KeyId=key_b["Arn"], Plaintext=b"p2")
        session_client(srv, "kms", session["Credentials"]).describe_key(KeyId=key_b["Arn"])
        kms.list_keys()
        other = create_account(strongroom_bin, srv.data_dir)
        other_kms = aws_client("kms", srv.endpoint, other["AccessKeyId"], other["SecretAccessKey"], None, REGION)
        other_key = other_kms.create_key(Description="other account")["KeyMetadata"]
        other_kms.encrypt(KeyId=other_key["KeyId"], Plaintext=b"o")
        other_kms.describe_key(KeyId=other_key["KeyId"])
        assert len(segment_paths(audit_dir(srv))) >= 3, segment_paths(audit_dir(srv))
        yield Trail(srv, srv.account_id, ct_client(srv, srv.access_key_id, srv.secret_access_key), reader,
                    nobody, denier, role, session, key_a, key_b, other, other_key, phase1_end, phase2_start)
    finally:
        srv.stop()


# -- the matching rules, written out independently ------------------------------------------


def username(e: dict) -> str | None:
    ui = e["userIdentity"]
    if "userName" in ui:
        return ui["userName"]
    if ui.get("type") == "Root":
        return "root"
    if ui.get("type") == "AssumedRole":
        return ui["arn"].rsplit("/", 1)[1]
    return None


def matches(e: dict, key: str, value: str) -> bool:
    ui = e["userIdentity"]
    resources = e.get("resources", [])
    return {
        "EventId": lambda: e["eventID"] == value.lower(),
        "EventName": lambda: e["eventName"] == value,
        "ReadOnly": lambda: e["readOnly"] == (value == "true"),
        "Username": lambda: username(e) == value,
        "ResourceType": lambda: any(r["type"] == value for r in resources),
        "ResourceName": lambda: any(r["ARN"] == value or r["ARN"].rsplit("/", 1)[-1] == value for r in resources),
        "EventSource": lambda: e["eventSource"] == value,
        "AccessKeyId": lambda: ui.get("accessKeyId") == value,
        "ErrorCode": lambda: e.get("errorCode") == value,
        "PrincipalArn": lambda: value in (ui.get("arn"), ui.get("sessionContext", {}).get("sessionIssuer", {}).get("arn")),
    }[key]()


def expected(t: Trail, account: str | None = None, attrs: list[tuple[str, str]] = (), start: float | None = None,
             end: float | None = None, *, with_lookups: bool = False) -> list[str]:
    """eventIDs of the trail's events that a lookup should return, newest first."""
    account = account or t.account
    out = []
    for e in reversed(events(audit_dir(t.srv), allow_torn_tail=True)):
        when = parse_event_time(e["eventTime"])
        if (e["recipientAccountId"] == account and all(matches(e, k, v) for k, v in attrs)
                and (start is None or when >= int(start)) and (end is None or when <= int(end))
                and (with_lookups or e["eventSource"] != CLOUDTRAIL_SOURCE)):
            out.append(e["eventID"])
    return out


def attributes(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"AttributeKey": k, "AttributeValue": v} for k, v in pairs]


def lookup_all(ct, **kwargs) -> tuple[list[dict], int]:
    """Every page of a lookup, following NextToken; returns the events and the page count."""
    found: list[dict] = []
    pages = 0
    token = None
    while True:
        args = dict(kwargs)
        if token:
            args["NextToken"] = token
        resp = ct.lookup_events(**args)
        pages += 1
        found += resp["Events"]
        token = resp.get("NextToken")
        if not token:
            return found, pages
        assert pages < 500, "the pages do not end"


def ids(found: list[dict], *, with_lookups: bool = False) -> list[str]:
    return [e["EventId"] for e in found if with_lookups or e["EventSource"] != CLOUDTRAIL_SOURCE]


def code_of(exc: pytest.ExceptionInfo) -> tuple[str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


# -- the shape -----------------------------------------------------------------------------


def test_events_come_newest_first_in_cloudtrails_shape(trail):
    want = expected(trail, with_lookups=True)  # before the lookup adds its own event
    resp = trail.root_ct.lookup_events(MaxResults=20)
    assert set(resp) == {"Events", "NextToken", "ResponseMetadata"}, resp.keys()
    got = resp["Events"]
    assert len(got) == 20
    logged = {e["eventID"]: e for e in events(audit_dir(trail.srv), allow_torn_tail=True)}
    times = [e["EventTime"] for e in got]
    assert times == sorted(times, reverse=True)
    assert ids(got, with_lookups=True) == want[:20]
    # The default page is 50 events.
    assert len(want) > 50
    assert len(trail.root_ct.lookup_events()["Events"]) == 50
    for ev in got:
        record = json.loads(ev["CloudTrailEvent"])
        assert record == logged[ev["EventId"]], ev["EventId"]
        assert ev["EventName"] == record["eventName"]
        assert ev["ReadOnly"] == ("true" if record["readOnly"] else "false")
        assert ev["AccessKeyId"] == record["userIdentity"]["accessKeyId"]
        assert ev["EventTime"] == dt.datetime.fromtimestamp(parse_event_time(record["eventTime"]), dt.timezone.utc)
        assert ev["EventSource"] == record["eventSource"]
        assert ev.get("Username") == username(record)
        assert ev["Resources"] == [{"ResourceType": r["type"], "ResourceName": r["ARN"]}
                                   for r in record["resources"]]
        assert record["recipientAccountId"] == trail.account
    # Every kind of caller has its CloudTrail Username.
    names = {(json.loads(e["CloudTrailEvent"])["userIdentity"]["type"], e.get("Username"))
             for e in lookup_all(trail.root_ct)[0]}
    assert {("Root", "root"), ("IAMUser", trail.reader.name), ("AssumedRole", "ct-session")} <= names, names


# -- lookup attributes -----------------------------------------------------------------------


def _attribute_cases(t: Trail) -> list[tuple[str, str]]:
    some = [e for e in events(audit_dir(t.srv)) if e["eventName"] == "Decrypt"][0]
    return [
        ("EventId", some["eventID"]),
        ("EventId", some["eventID"].upper()),
        ("EventName", "Encrypt"),
        ("EventName", "PutUserPolicy"),
        ("ReadOnly", "true"),
        ("ReadOnly", "false"),
        ("Username", "root"),
        ("Username", t.reader.name),
        ("Username", "ct-session"),
        ("ResourceType", "AWS::KMS::Key"),
        ("ResourceType", "AWS::IAM::Role"),
        ("ResourceName", t.key_a["Arn"]),
        ("ResourceName", t.key_b["KeyId"]),
        ("ResourceName", t.role["Arn"]),
        ("EventSource", "kms.amazonaws.com"),
        ("EventSource", "iam.amazonaws.com"),
        ("EventSource", "sts.amazonaws.com"),
        ("AccessKeyId", t.reader.access_key_id),
        ("AccessKeyId", t.session["Credentials"]["AccessKeyId"]),
        ("ErrorCode", "AccessDeniedException"),
        ("ErrorCode", "NotFoundException"),
        ("PrincipalArn", t.reader.arn),
        ("PrincipalArn", t.role["Arn"]),
        ("PrincipalArn", t.session["AssumedRoleUser"]["Arn"]),
        ("EventName", "NoSuchEvent"),
    ]


ATTRIBUTE_CASES = 25


@pytest.mark.parametrize("index", range(ATTRIBUTE_CASES))
def test_each_lookup_attribute_selects_exactly_its_events(trail, index):
    cases = _attribute_cases(trail)
    assert len(cases) == ATTRIBUTE_CASES
    key, value = cases[index]
    want = expected(trail, attrs=[(key, value)])
    if value != "NoSuchEvent":
        assert want, f"{key}={value} selects nothing in the trail: the case tests nothing"
    found, _ = lookup_all(trail.root_ct, LookupAttributes=attributes([(key, value)]), MaxResults=50)
    assert ids(found) == want, f"{key}={value}"


def test_several_attributes_combine_with_and(trail):
    """The issue's query: this key, this principal, this event name, this error code, this
    time range — in one request (CloudTrail itself takes one attribute)."""
    pairs = [("ResourceName", trail.key_a["Arn"]), ("PrincipalArn", trail.reader.arn),
             ("EventName", "Decrypt"), ("ErrorCode", "AccessDeniedException")]
    start = dt.datetime.fromtimestamp(trail.phase1_end - DAY_S, dt.timezone.utc)
    end = dt.datetime.fromtimestamp(trail.phase1_end + 60, dt.timezone.utc)
    found, _ = lookup_all(trail.root_ct, LookupAttributes=attributes(pairs), StartTime=start, EndTime=end)
    want = expected(trail, attrs=pairs, start=start.timestamp(), end=end.timestamp())
    assert len(want) == 1 and ids(found) == want
    # AND: what every attribute alone selects, intersected (and most select more alone).
    singles = [set(expected(trail, attrs=[p], start=start.timestamp(), end=end.timestamp())) for p in pairs]
    assert set(want) == set.intersection(*singles)
    assert all(len(expected(trail, attrs=[p])) > 1 for p in pairs[:3])
    encrypts, _ = lookup_all(trail.root_ct, LookupAttributes=attributes(
        [("EventName", "Encrypt"), ("Username", trail.reader.name), ("ReadOnly", "true")]))
    assert ids(encrypts) == expected(trail, attrs=[("EventName", "Encrypt"), ("Username", trail.reader.name)])
    assert len(ids(encrypts)) == 2


def test_time_ranges_are_inclusive(trail):
    ct = trail.root_ct
    p2 = dt.datetime.fromtimestamp(trail.phase2_start, dt.timezone.utc)
    p1_end = dt.datetime.fromtimestamp(trail.phase1_end, dt.timezone.utc)
    after, _ = lookup_all(ct, StartTime=p2)
    assert ids(after) == expected(trail, start=trail.phase2_start) and len(ids(after)) >= 4
    before, _ = lookup_all(ct, EndTime=p1_end)
    assert ids(before) == expected(trail, end=trail.phase1_end) and len(ids(before)) > 20
    assert not set(ids(after)) & set(ids(before))
    # A range of one second holds the events of that second (both ends inclusive).
    some = [e for e in events(audit_dir(trail.srv)) if e["eventName"] == "ListKeys"][0]
    second = dt.datetime.fromtimestamp(parse_event_time(some["eventTime"]), dt.timezone.utc)
    exact, _ = lookup_all(ct, StartTime=second, EndTime=second)
    assert some["eventID"] in ids(exact)
    assert ids(exact) == expected(trail, start=second.timestamp(), end=second.timestamp())
    # Between the phases: nothing.
    gap, _ = lookup_all(ct, StartTime=p1_end + dt.timedelta(days=1), EndTime=p2 - dt.timedelta(days=1))
    assert gap == []


# -- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_pages_walk_the_whole_trail_across_segments(trail, page_size):
    """Newest first, no event twice, none left out, across every segment of the trail."""
    attrs = [("EventSource", "iam.amazonaws.com")]
    want = expected(trail, attrs=attrs)
    assert len(want) > BIG_POLICY_EVENTS
    found, pages = lookup_all(trail.root_ct, LookupAttributes=attributes(attrs), MaxResults=page_size)
    assert ids(found) == want
    assert pages == -(-len(want) // page_size)
    # The events span the segments (the trail rolled over while they were written).
    where = {}
    paths = segment_paths(audit_dir(trail.srv))
    for path in paths:
        for line in segment_content(path, last=path == paths[-1]).splitlines():
            record = json.loads(line)
            if "event" in record:
                where[record["event"]["eventID"]] = path.name
    assert len({where[i] for i in want}) >= 3


def test_an_unfiltered_walk_sees_every_event_of_the_account_once(trail):
    found, _ = lookup_all(trail.root_ct, MaxResults=50)
    all_ids = ids(found, with_lookups=True)
    assert len(all_ids) == len(set(all_ids))
    assert ids(found) == expected(trail)
    records = [json.loads(e["CloudTrailEvent"]) for e in found]
    assert {r["recipientAccountId"] for r in records} == {trail.account}


def test_the_boto3_paginator_and_the_aws_cli_page_unchanged(trail):
    attrs = [("EventSource", "kms.amazonaws.com")]
    want = expected(trail, attrs=attrs)
    pages = trail.root_ct.get_paginator("lookup_events").paginate(
        LookupAttributes=attributes(attrs), PaginationConfig={"PageSize": 3})
    got = [e for page in pages for e in page["Events"]]
    assert ids(got) == want
    # The AWS CLI: all pages (in pages of 3), then --max-items with its own resume token.
    out = aws_json(trail.srv, "cloudtrail", "lookup-events", "--lookup-attributes",
                   "AttributeKey=EventSource,AttributeValue=kms.amazonaws.com", "--page-size", "3")
    assert ids(out["Events"]) == want
    first = aws_json(trail.srv, "cloudtrail", "lookup-events", "--lookup-attributes",
                     "AttributeKey=EventSource,AttributeValue=kms.amazonaws.com", "--max-items", "4")
    assert ids(first["Events"]) == want[:4] and first.get("NextToken")
    rest = aws_json(trail.srv, "cloudtrail", "lookup-events", "--lookup-attributes",
                    "AttributeKey=EventSource,AttributeValue=kms.amazonaws.com", "--starting-token",
                    first["NextToken"])
    assert ids(rest["Events"]) == want[4:]


def test_the_aws_cli_takes_the_extensions_and_a_time_range(trail):
    start = dt.datetime.fromtimestamp(trail.phase2_start, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = aws_json(trail.srv, "cloudtrail", "lookup-events", "--lookup-attributes",
                   f"AttributeKey=PrincipalArn,AttributeValue={trail.role['Arn']}",
                   "AttributeKey=EventName,AttributeValue=DescribeKey", "--start-time", start)
    want = expected(trail, attrs=[("PrincipalArn", trail.role["Arn"]), ("EventName", "DescribeKey")],
                    start=trail.phase2_start)
    assert len(want) == 1 and ids(out["Events"]) == want
    denied = aws_json(trail.srv, "cloudtrail", "lookup-events", "--lookup-attributes",
                      "AttributeKey=ErrorCode,AttributeValue=AccessDeniedException")
    assert ids(denied["Events"]) == expected(trail, attrs=[("ErrorCode", "AccessDeniedException")])
    bad = aws(trail.srv, "cloudtrail", "lookup-events", "--max-results", "51", check=False)
    assert bad.returncode != 0 and "InvalidMaxResultsException" in bad.stderr, bad.stderr


def test_a_token_is_bound_to_its_query(trail):
    ct = trail.root_ct
    attrs = attributes([("EventSource", "iam.amazonaws.com")])
    first = ct.lookup_events(LookupAttributes=attrs, MaxResults=5)
    token = first["NextToken"]
    # Same parameters: accepted, also with another page size.
    again = ct.lookup_events(LookupAttributes=attrs, MaxResults=3, NextToken=token)
    assert ids(again["Events"]) == expected(trail, attrs=[("EventSource", "iam.amazonaws.com")])[5:8]
    for other in [
        {"LookupAttributes": attributes([("EventSource", "kms.amazonaws.com")])},
        {},
        {"LookupAttributes": attrs, "StartTime": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)},
        {"LookupAttributes": attrs + attributes([("Username", "root")])},
    ]:
        with pytest.raises(ClientError) as info:
            ct.lookup_events(NextToken=token, **other)
        assert code_of(info) == ("InvalidNextTokenException", 400), other
    with pytest.raises(ClientError) as info:
        ct.lookup_events(NextToken="not-a-token")
    assert code_of(info) == ("InvalidNextTokenException", 400)
    # Another account's token, for the same parameters: refused.
    other_ct = ct_client(trail.srv, trail.other["AccessKeyId"], trail.other["SecretAccessKey"])
    theirs = other_ct.lookup_events(LookupAttributes=attributes([("EventSource", "kms.amazonaws.com")]),
                                    MaxResults=1)
    assert theirs.get("NextToken")
    with pytest.raises(ClientError) as info:
        ct.lookup_events(LookupAttributes=attributes([("EventSource", "kms.amazonaws.com")]),
                         NextToken=theirs["NextToken"])
    assert code_of(info) == ("InvalidNextTokenException", 400)


# -- errors ----------------------------------------------------------------------------------

ERROR_CASES = {
    "unknown-key": ({"LookupAttributes": [{"AttributeKey": "Region", "AttributeValue": "x"}]},
                    "InvalidLookupAttributesException"),
    "empty-value": ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]},
                    "InvalidLookupAttributesException"),
    "value-over-2000": ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x" * 2001}]},
                        "InvalidLookupAttributesException"),
    "value-with-doubled-characters": (
        {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "_" * 1001}]},
        "InvalidLookupAttributesException"),
    "read-only-not-boolean": ({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "yes"}]},
                              "InvalidLookupAttributesException"),
    "key-twice": ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"},
                                        {"AttributeKey": "EventName", "AttributeValue": "Decrypt"}]},
                  "InvalidLookupAttributesException"),
    "no-value": ({"LookupAttributes": [{"AttributeKey": "EventName"}]}, "InvalidLookupAttributesException"),
    "start-after-end": ({"StartTime": dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc),
                         "EndTime": dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)}, "InvalidTimeRangeException"),
    "max-results-0": ({"MaxResults": 0}, "InvalidMaxResultsException"),
    "max-results-51": ({"MaxResults": 51}, "InvalidMaxResultsException"),
    "event-category": ({"EventCategory": "Data"}, "InvalidEventCategoryException"),
    # Shaped like a token (version 1, segment 1, seq 5) but bound to no query of this caller.
    "next-token": ({"NextToken": base64.urlsafe_b64encode(
        bytes([1]) + (1).to_bytes(4, "big") + (5).to_bytes(8, "big") + bytes(16)).rstrip(b"=").decode()},
        "InvalidNextTokenException"),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_invalid_requests_get_cloudtrails_exceptions(trail, name):
    kwargs, code = ERROR_CASES[name]
    ct = ct_client(trail.srv, trail.srv.access_key_id, trail.srv.secret_access_key, validate=False)
    with pytest.raises(ClientError) as info:
        ct.lookup_events(**kwargs)
    assert code_of(info) == (code, 400), info.value.response
    assert info.value.response["Error"]["Message"]
    rid = info.value.response["ResponseMetadata"]["RequestId"]
    event = [e for e in events(audit_dir(trail.srv), allow_torn_tail=True) if e.get("requestID") == rid]
    assert len(event) == 1 and event[0]["errorCode"] == code and event[0]["eventName"] == "LookupEvents"


@pytest.mark.parametrize("body, code", [
    (b'{"StartTime": 1e12}', "InvalidTimeRangeException"),
    (b'{"EndTime": -1e12}', "InvalidTimeRangeException"),
    (b'{"MaxResults": "five"}', "SerializationException"),
    (b'{"LookupAttributes": {"AttributeKey": "EventName"}}', "SerializationException"),
    (b"not json", "SerializationException"),
])
def test_bodies_botocore_would_not_send(trail, body, code):
    headers, body = build_request(trail.srv.endpoint, TARGET, body, access_key_id=trail.srv.access_key_id,
                                  secret_access_key=trail.srv.secret_access_key, region=REGION,
                                  service="cloudtrail")
    resp = send_raw(trail.srv.endpoint, headers, body)
    assert (resp.status, resp.error_code) == (400, code), resp.body
    assert resp.header("Content-Type") == "application/x-amz-json-1.1"


def test_other_operations_and_signatures(trail):
    with pytest.raises(ClientError) as info:
        trail.root_ct.describe_trails()
    assert code_of(info) == ("UnsupportedOperationException", 400)
    assert "LookupEvents" in info.value.response["Error"]["Message"]
    headers, body = build_request(trail.srv.endpoint, "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.%%",
                                  b"{}", access_key_id=trail.srv.access_key_id,
                                  secret_access_key=trail.srv.secret_access_key, region=REGION, service="cloudtrail")
    resp = send_raw(trail.srv.endpoint, headers, body)
    assert (resp.status, resp.error_code) == (400, "UnknownOperationException"), resp.body
    # Signed for KMS, sent to CloudTrail: the credential scope names the wrong service.
    headers, body = build_request(trail.srv.endpoint, TARGET, b"{}", access_key_id=trail.srv.access_key_id,
                                  secret_access_key=trail.srv.secret_access_key, region=REGION, service="kms")
    resp = send_raw(trail.srv.endpoint, headers, body)
    assert resp.status == 400 and resp.error_code in ("InvalidSignatureException", "IncompleteSignatureException"), \
        resp.body
    # Unsigned, and an unknown access key: refused, and audited.
    for akid, code in [(None, "MissingAuthenticationTokenException"),
                       (random_access_key_id(), "UnrecognizedClientException")]:
        headers, body = build_request(trail.srv.endpoint, TARGET, b"{}", access_key_id=akid,
                                      secret_access_key=random_secret_access_key() if akid else None,
                                      region=REGION, service="cloudtrail")
        resp = send_raw(trail.srv.endpoint, headers, body)
        assert (resp.status, resp.error_code) == (400, code), resp.body
        rid = resp.header("x-amzn-RequestId")
        logged = [e for e in events(audit_dir(trail.srv), allow_torn_tail=True) if e.get("requestID") == rid]
        assert len(logged) == 1, logged
        assert (logged[0]["eventSource"], logged[0]["eventName"], logged[0]["errorCode"]) == (
            CLOUDTRAIL_SOURCE, "LookupEvents", code)
        assert logged[0]["userIdentity"]["type"] == "Unknown"


def test_insight_events_are_none(trail):
    resp = trail.root_ct.lookup_events(EventCategory="insight")
    assert resp["Events"] == [] and "NextToken" not in resp


# -- authorization and accounts --------------------------------------------------------------


def test_authorization_is_cloudtrail_lookup_events_deny_by_default(trail):
    srv = trail.srv
    # A user with no policy, and one whose allow-all is overruled by an explicit deny.
    for who in (trail.nobody, trail.denier):
        with pytest.raises(ClientError) as info:
            who.client(srv, "cloudtrail").lookup_events()
        assert code_of(info) == ("AccessDeniedException", 400)
        message = info.value.response["Error"]["Message"]
        assert who.arn in message and "cloudtrail:LookupEvents" in message, message
        rid = info.value.response["ResponseMetadata"]["RequestId"]
        logged = [e for e in events(audit_dir(srv), allow_torn_tail=True) if e.get("requestID") == rid]
        assert len(logged) == 1 and logged[0]["errorCode"] == "AccessDeniedException"
        assert logged[0]["userIdentity"]["arn"] == who.arn
    # A user with an identity policy allowing it, and a role session whose role's policy does:
    # both see the whole account's events, not only their own.
    for ct in (trail.reader.client(srv, "cloudtrail"), session_client(srv, "cloudtrail", trail.session["Credentials"])):
        found, _ = lookup_all(ct, LookupAttributes=attributes([("Username", "root")]))
        assert ids(found) == expected(trail, attrs=[("Username", "root")])
    # The AWS CLI with the user's credentials.
    out = aws_json(srv, "cloudtrail", "lookup-events", "--max-items", "2",
                   env=credentials_env(trail.reader.access_key_id, trail.reader.secret_access_key))
    assert len(out["Events"]) == 2
    denied = aws(srv, "cloudtrail", "lookup-events", check=False,
                 env=credentials_env(trail.nobody.access_key_id, trail.nobody.secret_access_key))
    assert denied.returncode != 0 and "AccessDeniedException" in denied.stderr, denied.stderr


def test_an_account_sees_only_its_own_events(trail):
    srv = trail.srv
    other_ct = ct_client(srv, trail.other["AccessKeyId"], trail.other["SecretAccessKey"])
    theirs, _ = lookup_all(other_ct)
    records = [json.loads(e["CloudTrailEvent"]) for e in theirs]
    assert {r["recipientAccountId"] for r in records} == {trail.other["AccountId"]}
    assert ids(theirs) == expected(trail, account=trail.other["AccountId"])
    assert [r["eventName"] for r in records if r["eventSource"] == KMS_SOURCE] == [
        "DescribeKey", "Encrypt", "CreateKey"]
    # The first account cannot find them, by any attribute, nor the other way round.
    mine, _ = lookup_all(trail.root_ct)
    assert not set(ids(mine, with_lookups=True)) & set(ids(theirs, with_lookups=True))
    for pairs in ([("ResourceName", trail.other_key["Arn"])],
                  [("AccessKeyId", trail.other["AccessKeyId"])],
                  [("PrincipalArn", f"arn:aws:iam::{trail.other['AccountId']}:root")]):
        found, _ = lookup_all(trail.root_ct, LookupAttributes=attributes(pairs))
        assert found == [], pairs
        assert expected(trail, account=trail.other["AccountId"], attrs=pairs), pairs
    found, _ = lookup_all(other_ct, LookupAttributes=attributes([("ResourceName", trail.key_a["Arn"])]))
    assert found == []


# -- the lookup's own event ------------------------------------------------------------------


def test_each_lookup_is_audited(trail):
    ct = trail.reader.client(trail.srv, "cloudtrail")
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    resp = ct.lookup_events(LookupAttributes=attributes([("EventName", "Encrypt")]), MaxResults=5, StartTime=start)
    rid = resp["ResponseMetadata"]["RequestId"]
    logged = [e for e in events(audit_dir(trail.srv), allow_torn_tail=True) if e.get("requestID") == rid]
    assert len(logged) == 1
    e = logged[0]
    assert (e["eventSource"], e["eventName"], e["readOnly"], e["awsRegion"]) == (
        CLOUDTRAIL_SOURCE, "LookupEvents", True, REGION)
    assert "errorCode" not in e
    assert e["requestParameters"] == {
        "lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "Encrypt"}],
        "maxResults": 5, "startTime": start.timestamp()}
    assert e["responseElements"] is None and e["resources"] == []
    assert e["userIdentity"]["arn"] == trail.reader.arn and e["recipientAccountId"] == trail.account
    # And a later lookup finds it.
    found, _ = lookup_all(trail.root_ct, LookupAttributes=attributes([("EventName", "LookupEvents"),
                                                                      ("Username", trail.reader.name)]))
    assert e["eventID"] in ids(found, with_lookups=True)


def test_with_the_audit_trail_off_there_is_nothing_to_look_up(make_server):
    srv = make_server("audit-off", access_key_id=random_access_key_id(),
                      secret_access_key=random_secret_access_key(), extra_args=["--audit", "off"])
    srv.start()
    ct = ct_client(srv, srv.access_key_id, srv.secret_access_key)
    with pytest.raises(ClientError) as info:
        ct.lookup_events()
    assert code_of(info) == ("UnsupportedOperationException", 400)
    assert "--audit off" in info.value.response["Error"]["Message"]
    # Authorization still comes first: a user without the permission is denied.
    iam = aws_client("iam", srv.endpoint, srv.access_key_id, srv.secret_access_key, None, REGION)
    nobody = make_user(iam, unique("off"))
    with pytest.raises(ClientError) as info:
        nobody.client(srv, "cloudtrail").lookup_events()
    assert code_of(info) == ("AccessDeniedException", 400)
