"""Coverage against botocore's KMS model.

* Every operation in the model either works (IMPLEMENTED) or answers
  UnsupportedOperationException (HTTP 400) naming the operation.
* For every implemented operation, each boundary request generated from the
  input shape's constraints gets a ValidationException (HTTP 400) whose message
  names the member in AWS's lowerCamel style ("… at 'keyId' failed to satisfy
  constraint …").

The first group of tests checks the generator itself and needs no server.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict

import pytest
from botocore.validate import ParamValidator

import model_cases as mc
from kms_helpers import error_of, raises_kms, unique_alias

BOUNDARY_CASES = mc.boundary_cases()
UNIMPLEMENTED = mc.unimplemented_operations()


class FakeContext:
    """Stand-in values with the right shapes, for checks that need no server."""

    account_id = "111122223333"
    key_arn = f"arn:aws:kms:us-east-1:111122223333:key/{uuid.uuid4()}"
    toggle_key_arn = f"arn:aws:kms:us-east-1:111122223333:key/{uuid.uuid4()}"
    policy_key_arn = f"arn:aws:kms:us-east-1:111122223333:key/{uuid.uuid4()}"
    ciphertext = bytes(range(256))[:120]

    def existing_alias(self) -> str:
        return unique_alias("fake")

    def unused_alias(self) -> str:
        return unique_alias("fake")


# -- the generator, checked without a server ------------------------------------


def test_model_has_the_operations_we_classify():
    operations = set(mc.all_operations())
    assert len(operations) >= 50, "botocore's KMS model looks truncated"
    assert set(mc.IMPLEMENTED) <= operations, set(mc.IMPLEMENTED) - operations
    assert set(mc.IMPLEMENTED).isdisjoint(UNIMPLEMENTED)
    assert set(mc.IMPLEMENTED) | set(UNIMPLEMENTED) == operations
    assert set(mc.BASE_REQUESTS) == set(mc.IMPLEMENTED)
    for named in ("Sign", "Verify", "GetPublicKey", "GenerateMac"):
        assert named in UNIMPLEMENTED


def test_base_requests_satisfy_the_model():
    ctx = FakeContext()
    validator = ParamValidator()
    for op in mc.IMPLEMENTED:
        request = mc.BASE_REQUESTS[op](ctx)
        assert mc.check(mc.input_shape(op), request) == [], op
        report = validator.validate(request, mc.input_shape(op))
        assert not report.has_errors(), f"{op}: {report.generate_report()}"


def test_minimal_requests_of_unimplemented_operations_satisfy_the_model():
    ctx = FakeContext()
    validator = ParamValidator()
    for op in UNIMPLEMENTED:
        request = mc.minimal_request(op, ctx)
        shape = mc.input_shape(op)
        if shape is None:
            assert request == {}
            continue
        assert mc.check(shape, request) == [], op
        report = validator.validate(request, shape)
        assert not report.has_errors(), f"{op}: {report.generate_report()}"


def test_each_boundary_case_breaks_exactly_its_own_constraint():
    ctx = FakeContext()
    problems = []
    for case in BOUNDARY_CASES:
        request = case.apply(mc.BASE_REQUESTS[case.operation](ctx), ctx)
        broken = mc.check(mc.input_shape(case.operation), request)
        paths = {path for path, _ in broken}
        kinds = {kind for path, kind in broken if path == case.path}
        if paths != {case.path} or case.kind not in kinds:
            problems.append(f"{case.id}: breaks {broken}")
    assert not problems, "\n".join(problems)


def test_botocore_itself_flags_missing_and_below_min_cases():
    """botocore checks `required` and `min` (not max, enum, pattern, nor blob
    lengths): an independent confirmation that those requests are out of bounds."""
    ctx = FakeContext()
    validator = ParamValidator()
    checked = 0
    for case in BOUNDARY_CASES:
        if case.kind not in ("missing", "below_min"):
            continue
        if mc.shape_at(case.operation, case.path).type_name == "blob":
            continue
        checked += 1
        request = case.apply(mc.BASE_REQUESTS[case.operation](ctx), ctx)
        report = validator.validate(request, mc.input_shape(case.operation))
        assert report.has_errors(), f"botocore accepts {case.id}"
    assert checked > 50


def test_generator_covers_the_constraints_named_in_the_spec():
    ids = {case.id for case in BOUNDARY_CASES}
    for expected in (
        "Encrypt:Plaintext:above_max", "Encrypt:Plaintext:below_min", "Encrypt:KeyId:missing",
        "GenerateRandom:NumberOfBytes:below_min", "GenerateRandom:NumberOfBytes:above_max",
        "GenerateDataKey:NumberOfBytes:above_max", "GenerateDataKey:KeySpec:enum",
        "CreateKey:KeyUsage:enum", "CreateKey:Description:above_max",
        "CreateAlias:AliasName:pattern", "CreateAlias:AliasName:above_max",
        "TagResource:Tags.0.TagKey:above_max", "TagResource:Tags.0.TagValue:above_max",
        "TagResource:Tags.0.TagKey:below_min", "ListKeys:Limit:below_min", "ListKeys:Limit:above_max",
        "DescribeKey:KeyId:above_max", "Decrypt:CiphertextBlob:above_max",
    ):
        assert expected in ids, expected
    per_op = defaultdict(int)
    for case in BOUNDARY_CASES:
        per_op[case.operation] += 1
    assert set(per_op) == set(mc.IMPLEMENTED), set(mc.IMPLEMENTED) - set(per_op)


def test_exclusions_name_real_cases_and_give_reasons():
    generated = {v.id for op in mc.IMPLEMENTED for v in mc.violations_for(op)}
    for case_id, reason in mc.EXCLUDED.items():
        assert case_id in generated, f"stale exclusion {case_id}"
        assert reason.strip(), f"exclusion {case_id} has no reason"


# -- against the server ------------------------------------------------------------


class LiveContext:
    """Real keys, a real ciphertext and fresh aliases on the session server."""

    def __init__(self, kms, account_id: str) -> None:
        self.kms = kms
        self.account_id = account_id
        make = lambda: kms.create_key(Description="e2e model coverage")["KeyMetadata"]["Arn"]
        self.key_arn = make()
        self.toggle_key_arn = make()
        self.policy_key_arn = make()
        self.ciphertext = kms.encrypt(KeyId=self.key_arn, Plaintext=b"model")["CiphertextBlob"]

    def existing_alias(self) -> str:
        name = unique_alias("model")
        self.kms.create_alias(AliasName=name, TargetKeyId=self.key_arn)
        return name

    def unused_alias(self) -> str:
        return unique_alias("model")


@pytest.fixture(scope="module")
def live(kms, account_id) -> LiveContext:
    return LiveContext(kms, account_id)


def _call(client, operation: str, request: dict) -> dict:
    return getattr(client, mc.method_name(operation))(**request)


@pytest.mark.parametrize("operation", mc.IMPLEMENTED)
def test_implemented_operation_accepts_its_base_request(operation, kms_raw, live):
    response = _call(kms_raw, operation, mc.BASE_REQUESTS[operation](live))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("operation", UNIMPLEMENTED)
def test_unimplemented_operation_answers_unsupported(operation, kms_raw, live):
    request = mc.minimal_request(operation, live)
    with raises_kms("UnsupportedOperationException", 400) as info:
        _call(kms_raw, operation, request)
    _, message, _ = error_of(info.value)
    assert re.search(rf"\b{operation}\b", message), (
        f"UnsupportedOperationException for {operation} does not name it: {message!r}")


@pytest.mark.parametrize("case", BOUNDARY_CASES, ids=[c.id for c in BOUNDARY_CASES])
def test_boundary_request_is_a_validation_error_naming_the_member(case, kms_raw, live):
    request = case.apply(mc.BASE_REQUESTS[case.operation](live), live)
    with raises_kms("ValidationException", 400, mentions=tuple(case.expected_names)):
        _call(kms_raw, case.operation, request)
