"""Requests generated from botocore's KMS service model.

Pure Python, no server: which operations Strongroom implements, a valid base
request for each of them, the boundary violations the model's constraints
imply (missing required member, one below `min`, one above `max`, a value
outside an enum, a string outside its pattern), and a minimal valid request for
every operation that is not implemented yet.

Every generated violation breaks exactly one constraint of one member; the
self-check tests in test_model_coverage.py verify that with an independent
validator and with botocore's own ParamValidator.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

import botocore.session
from botocore import xform_name

# Operations Strongroom serves today; every other operation of the model must
# answer UnsupportedOperationException naming the operation.
IMPLEMENTED: tuple[str, ...] = (
    "CreateKey", "DescribeKey", "ListKeys", "UpdateKeyDescription", "EnableKey", "DisableKey",
    "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "GenerateRandom", "CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases",
    "TagResource", "UntagResource", "ListResourceTags", "GetKeyPolicy", "PutKeyPolicy",
    "ListKeyPolicies", "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus",
    "RotateKeyOnDemand", "ListKeyRotations", "ScheduleKeyDeletion", "CancelKeyDeletion",
    "GetKeyLastUsage", "GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial",
    "CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant",
)

# Constraints that cannot be exercised end to end, by case id, with the reason.
# Empty today: even the largest one (Recipient.AttestationDocument, 256 KiB)
# fits in a request the server must be able to read, because a valid request
# of that size exists. A stale entry fails the self-check.
EXCLUDED: dict[str, str] = {}

# Members that must not appear together; a violation on one drops the others so
# the request breaks exactly one rule.
EXCLUSIVE_MEMBERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "GenerateDataKey": (("KeySpec", "NumberOfBytes"),),
    "GenerateDataKeyWithoutPlaintext": (("KeySpec", "NumberOfBytes"),),
}

KEY_ID_MEMBERS = frozenset({"KeyId", "TargetKeyId", "DestinationKeyId", "SourceKeyId"})
STRING_PREFIX = {
    "AliasName": "alias/",
    "SourceArn": "arn:aws:s3:us-east-1:111122223333:",
    "GranteeServicePrincipal": "service.example.",
    "RetiringServicePrincipal": "service.example.",
}
INVALID_ENUM = "NOT_A_VALID_ENUM_VALUE"

# Valid samples for patterns that a run of one repeated character cannot match.
PATTERN_SAMPLES: dict[str, str] = {
    r"^([a-z]+-){2,3}\d+$": "us-west-2",
    r"cluster-[2-7a-zA-Z]{11,16}": "cluster-234567abcdefg",
    r"^https://[a-zA-Z0-9.-]+$": "https://xks.example.com",
    r"^(/[a-zA-Z0-9\/_-]+/kms/xks/v\d{1,2})$|^(/kms/xks/v\d{1,2})$": "/kms/xks/v1",
    r"^(com|eu)\.amazonaws\.vpce\.([a-z]+-){2,3}\d+\.vpce-svc-[0-9a-z]+$":
        "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
    r"[0-9]{12}": "111122223333",
    r"^([A-Za-z0-9\-]+)\.([A-Za-z0-9\-]+)(\.[A-Za-z0-9\-]+)+$": "service.amazonaws.com",
}
# Strings that break a pattern, tried in order (the first that breaks it wins).
PATTERN_BREAKERS = ("has space!", "x\u0100")


class RequestContext(Protocol):
    """What base requests need from the environment (a live server or a fake)."""

    account_id: str
    key_arn: str  # an enabled key the tests may use freely
    toggle_key_arn: str  # a key that EnableKey/DisableKey may flip
    policy_key_arn: str  # a key whose policy PutKeyPolicy may rewrite
    ciphertext: bytes  # encrypted under key_arn, no encryption context

    def existing_alias(self) -> str: ...  # a fresh alias on key_arn

    def unused_alias(self) -> str: ...  # a fresh name that no alias has

    # Optional: a live context also has `kms`, a boto3 client, which the
    # deletion requests use to make keys of their own (see _disposable_key).


@functools.lru_cache(maxsize=1)
def service_model():
    return botocore.session.get_session().get_service_model("kms")


def all_operations() -> list[str]:
    return list(service_model().operation_names)


def unimplemented_operations() -> list[str]:
    return [op for op in all_operations() if op not in IMPLEMENTED]


def input_shape(operation: str):
    return service_model().operation_model(operation).input_shape


def method_name(operation: str) -> str:
    return xform_name(operation)


def lower_camel(name: str) -> str:
    """AWS names members this way in validation messages ('KeyId' -> 'keyId')."""
    return name[:1].lower() + name[1:]


def fullmatch(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value, flags=re.DOTALL) is not None


# -- valid values -------------------------------------------------------------


def valid_string(shape, name: str = "", length: int | None = None) -> str:
    """A string matching the shape's pattern, of the given length (which may be
    deliberately outside min/max) or else of the smallest useful length."""
    if shape.enum:
        return shape.enum[0]
    pattern = shape.metadata.get("pattern")
    prefix = STRING_PREFIX.get(name, "")
    if length is None:
        if pattern in PATTERN_SAMPLES:
            return PATTERN_SAMPLES[pattern]
        length = max(shape.metadata.get("min", 0), 1, len(prefix) + 1)
    for filler in "aA1":
        value = prefix + filler * (length - len(prefix))
        if not pattern or fullmatch(pattern, value):
            return value
    raise ValueError(f"no sample of length {length} for {name!r} matches {pattern!r}")


def minimal_value(shape, name: str, ctx: RequestContext | None) -> Any:
    """The smallest useful valid value: required members only, lists of one item
    (or their minimum, if larger)."""
    kind = shape.type_name
    if kind == "structure":
        return {m: minimal_value(shape.members[m], m, ctx) for m in shape.required_members}
    if kind == "list":
        count = max(shape.metadata.get("min", 0), 1)
        return [minimal_value(shape.member, name, ctx) for _ in range(count)]
    if kind == "map":
        return {}
    if kind == "string":
        if name in KEY_ID_MEMBERS and ctx is not None:
            return ctx.key_arn
        return valid_string(shape, name)
    if kind == "blob":
        return b"x" * max(shape.metadata.get("min", 0), 1)
    if kind in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 1)
    if kind == "boolean":
        return False
    raise ValueError(f"no minimal value for {name} of type {kind}")


def minimal_request(operation: str, ctx: RequestContext) -> dict:
    shape = input_shape(operation)
    return minimal_value(shape, operation, ctx) if shape is not None else {}


# -- base requests of the implemented operations --------------------------------


def _default_policy_text(ctx: RequestContext) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ctx.account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }],
    })


def _disposable_key(ctx: RequestContext, *, pending_deletion: bool) -> str:
    """A key that ScheduleKeyDeletion / CancelKeyDeletion may change for good.

    Those requests must not touch the shared keys (a server that wrongly
    accepted a boundary request would schedule the deletion of `key_arn`), so a
    context with a live `kms` client gets a fresh key per request, already
    pending deletion when CancelKeyDeletion needs one. The server-less
    self-checks look only at the request's shape and get `key_arn`.
    """
    kms = getattr(ctx, "kms", None)
    if kms is None:
        return ctx.key_arn
    arn = kms.create_key(Description="e2e model coverage (disposable)")["KeyMetadata"]["Arn"]
    if pending_deletion:
        kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    return arn


def _grantee(ctx: RequestContext) -> str:
    return f"arn:aws:iam::{ctx.account_id}:user/model-coverage"


def _grant_id(ctx: RequestContext) -> str:
    """A fresh grant on `key_arn` for RetireGrant / RevokeGrant to remove (a live context), or
    an id of the right shape (the server-less self-checks)."""
    kms = getattr(ctx, "kms", None)
    if kms is None:
        return "0" * 64
    return kms.create_grant(
        KeyId=ctx.key_arn, GranteePrincipal=_grantee(ctx), Operations=["Decrypt"],
        RetiringPrincipal=f"arn:aws:iam::{ctx.account_id}:root")["GrantId"]


# -- imported key material (BYOK) ------------------------------------------------

WRAPPING_ALGORITHMS = (
    "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256",
)


def wrap_key_material(public_key_der: bytes, algorithm: str, material: bytes,
                      *, aes_key: bytes | None = None) -> bytes:
    """Wrap `material` the way AWS's docs tell users to with OpenSSL.

    RSAES_OAEP_SHA_x: RSA-OAEP (MGF1 with the same hash, no label) of the
    material. RSA_AES_KEY_WRAP_SHA_x: RSA-OAEP of a fresh 32-byte AES key, then
    the AES key wrap with padding (RFC 5649) of the material under that key.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

    if algorithm not in WRAPPING_ALGORITHMS:
        raise ValueError(f"no local wrapping for {algorithm}")
    digest = hashes.SHA256() if algorithm.endswith("SHA_256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=digest), algorithm=digest, label=None)
    public = serialization.load_der_public_key(public_key_der)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32) if aes_key is None else aes_key
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def import_key_material(kms, key_id: str, material: bytes, *,
                        algorithm: str = "RSAES_OAEP_SHA_256", spec: str = "RSA_2048", **extra) -> dict:
    """GetParametersForImport, wrap locally, ImportKeyMaterial (never expiring
    unless `extra` says otherwise); returns ImportKeyMaterial's answer."""
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)
    if "ValidTo" not in extra:
        extra.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(
        KeyId=key_id, ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap_key_material(params["PublicKey"], algorithm, material), **extra)


def _external_key(ctx: RequestContext, *, with_material: bool) -> str:
    """A fresh EXTERNAL-origin key (PendingImport, or Enabled with 32 random
    bytes of imported material) on a live context; `key_arn` for the
    server-less self-checks, which look only at the request's shape."""
    kms = getattr(ctx, "kms", None)
    if kms is None:
        return ctx.key_arn
    arn = kms.create_key(Description="e2e model coverage (external)", Origin="EXTERNAL")["KeyMetadata"]["Arn"]
    if with_material:
        import_key_material(kms, arn, os.urandom(32))
    return arn


def _import_request(ctx: RequestContext) -> dict:
    """A complete, valid ImportKeyMaterial request: a real token and material
    wrapped with the public key of the same GetParametersForImport answer, for a
    fresh EXTERNAL key. A boundary case then breaks only its own member."""
    request = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "ImportType": "EXISTING_KEY_MATERIAL"}
    kms = getattr(ctx, "kms", None)
    if kms is None:
        return {"KeyId": ctx.key_arn, "ImportToken": b"t" * 64, "EncryptedKeyMaterial": b"m" * 256, **request}
    arn = _external_key(ctx, with_material=False)
    params = kms.get_parameters_for_import(
        KeyId=arn, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    return {"KeyId": arn, "ImportToken": params["ImportToken"], "EncryptedKeyMaterial": wrapped, **request}


BASE_REQUESTS: dict[str, Callable[[RequestContext], dict]] = {
    "CreateKey": lambda c: {"Description": "e2e model coverage"},
    "DescribeKey": lambda c: {"KeyId": c.key_arn},
    "ListKeys": lambda c: {},
    "UpdateKeyDescription": lambda c: {"KeyId": c.key_arn, "Description": "e2e model coverage"},
    "EnableKey": lambda c: {"KeyId": c.toggle_key_arn},
    "DisableKey": lambda c: {"KeyId": c.toggle_key_arn},
    "Encrypt": lambda c: {"KeyId": c.key_arn, "Plaintext": b"model coverage"},
    "Decrypt": lambda c: {"CiphertextBlob": c.ciphertext},
    "ReEncrypt": lambda c: {"CiphertextBlob": c.ciphertext, "DestinationKeyId": c.key_arn},
    "GenerateDataKey": lambda c: {"KeyId": c.key_arn, "KeySpec": "AES_256"},
    "GenerateDataKeyWithoutPlaintext": lambda c: {"KeyId": c.key_arn, "KeySpec": "AES_256"},
    "GenerateRandom": lambda c: {"NumberOfBytes": 16},
    "CreateAlias": lambda c: {"AliasName": c.unused_alias(), "TargetKeyId": c.key_arn},
    "UpdateAlias": lambda c: {"AliasName": c.existing_alias(), "TargetKeyId": c.key_arn},
    "DeleteAlias": lambda c: {"AliasName": c.existing_alias()},
    "ListAliases": lambda c: {},
    "TagResource": lambda c: {"KeyId": c.key_arn, "Tags": [{"TagKey": "model", "TagValue": "v"}]},
    "UntagResource": lambda c: {"KeyId": c.key_arn, "TagKeys": ["model"]},
    "ListResourceTags": lambda c: {"KeyId": c.key_arn},
    "GetKeyPolicy": lambda c: {"KeyId": c.key_arn, "PolicyName": "default"},
    "PutKeyPolicy": lambda c: {
        "KeyId": c.policy_key_arn, "PolicyName": "default", "Policy": _default_policy_text(c)},
    "ListKeyPolicies": lambda c: {"KeyId": c.key_arn},
    "EnableKeyRotation": lambda c: {"KeyId": c.key_arn},
    "DisableKeyRotation": lambda c: {"KeyId": c.key_arn},
    "GetKeyRotationStatus": lambda c: {"KeyId": c.key_arn},
    "RotateKeyOnDemand": lambda c: {"KeyId": c.key_arn},
    "ListKeyRotations": lambda c: {"KeyId": c.key_arn},
    "ScheduleKeyDeletion": lambda c: {"KeyId": _disposable_key(c, pending_deletion=False)},
    "CancelKeyDeletion": lambda c: {"KeyId": _disposable_key(c, pending_deletion=True)},
    "GetKeyLastUsage": lambda c: {"KeyId": c.key_arn},
    "GetParametersForImport": lambda c: {
        "KeyId": _external_key(c, with_material=False),
        "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"},
    "ImportKeyMaterial": _import_request,
    "DeleteImportedKeyMaterial": lambda c: {"KeyId": _external_key(c, with_material=True)},
    "CreateGrant": lambda c: {
        "KeyId": c.key_arn, "GranteePrincipal": _grantee(c), "Operations": ["Decrypt"]},
    "ListGrants": lambda c: {"KeyId": c.key_arn},
    "ListRetirableGrants": lambda c: {"RetiringPrincipal": _grantee(c)},
    "RetireGrant": lambda c: {"KeyId": c.key_arn, "GrantId": _grant_id(c)},
    "RevokeGrant": lambda c: {"KeyId": c.key_arn, "GrantId": _grant_id(c)},
}


# -- boundary violations ----------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One broken constraint: `path` leads from the input structure to the member."""

    operation: str
    path: tuple[str | int, ...]
    kind: str  # missing | below_min | above_max | enum | pattern
    value: Any = None

    @property
    def id(self) -> str:
        return f"{self.operation}:{'.'.join(str(p) for p in self.path)}:{self.kind}"

    @property
    def expected_names(self) -> list[str]:
        """Member names (lowerCamel) the ValidationException message must contain."""
        names = [lower_camel(p) for p in self.path if isinstance(p, str)]
        return sorted(set(names), key=names.index)

    def apply(self, base: dict, ctx: RequestContext | None) -> dict:
        request = copy.deepcopy(base)
        for group in EXCLUSIVE_MEMBERS.get(self.operation, ()):
            if self.path[0] in group:
                for other in group:
                    if other != self.path[0]:
                        request.pop(other, None)
        container: Any = request
        shape = input_shape(self.operation)
        for step in self.path[:-1]:
            child = _child_shape(shape, step)
            _ensure(container, step, child, ctx)
            container, shape = container[step], child
        last = self.path[-1]
        if self.kind == "missing":
            container.pop(last, None)
        else:
            if isinstance(last, int):
                _ensure(container, last, _child_shape(shape, last), ctx)
            container[last] = copy.deepcopy(self.value)
        return request


def _child_shape(shape, step):
    return shape.member if isinstance(step, int) else shape.members[step]


def shape_at(operation: str, path: tuple):
    """The shape of the member that `path` leads to."""
    shape = input_shape(operation)
    for step in path:
        shape = _child_shape(shape, step)
    return shape


def _ensure(container, step, child_shape, ctx) -> None:
    """Make `container[step]` exist with a valid value (materialise ancestors)."""
    if isinstance(step, int):
        while len(container) <= step:
            container.append(minimal_value(child_shape, "", ctx))
    elif step not in container:
        container[step] = minimal_value(child_shape, step, ctx)


def _pattern_breaker(shape, name: str) -> str | None:
    pattern = shape.metadata["pattern"]
    lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max", 1 << 20)
    # With the member's usual prefix first (so only the part after it is wrong), then
    # without it (a prefix such as SourceArn's can make every suffix valid).
    for prefix in dict.fromkeys((STRING_PREFIX.get(name, ""), "")):
        for text in PATTERN_BREAKERS:
            # Repeated up to `min` when a breaker alone is too short (a fixed-length
            # member such as KeyMaterialId), so only the pattern is broken.
            value = prefix + (text * (lo // len(text) + 1))[:max(lo - len(prefix), len(text))]
            if lo <= len(value) <= hi and not fullmatch(pattern, value):
                return value
    return None


def _leaf_cases(op: str, path: tuple, shape, name: str) -> Iterator[Violation]:
    md, kind = shape.metadata, shape.type_name
    if kind == "string":
        if shape.enum:
            yield Violation(op, path, "enum", INVALID_ENUM)
            return
        if md.get("min", 0) > 0:
            yield Violation(op, path, "below_min", "a" * (md["min"] - 1))
        if "max" in md:
            yield Violation(op, path, "above_max", valid_string(shape, name, md["max"] + 1))
        if "pattern" in md:
            breaker = _pattern_breaker(shape, name)
            if breaker is None:
                raise ValueError(f"{op} {path}: no string breaks pattern {md['pattern']!r}")
            yield Violation(op, path, "pattern", breaker)
    elif kind == "blob":
        if md.get("min", 0) > 0:
            yield Violation(op, path, "below_min", b"x" * (md["min"] - 1))
        if "max" in md:
            yield Violation(op, path, "above_max", b"x" * (md["max"] + 1))
    elif kind in ("integer", "long"):
        if "min" in md:
            yield Violation(op, path, "below_min", md["min"] - 1)
        if "max" in md:
            yield Violation(op, path, "above_max", md["max"] + 1)


def _walk(op: str, path: tuple, shape, name: str, depth: int = 0) -> Iterator[Violation]:
    kind = shape.type_name
    if depth > 6:
        return
    if kind == "structure":
        for member_name, member in shape.members.items():
            if member_name in shape.required_members:
                yield Violation(op, path + (member_name,), "missing")
            yield from _walk(op, path + (member_name,), member, member_name, depth + 1)
    elif kind == "list":
        md = shape.metadata
        if md.get("min", 0) > 0:
            yield Violation(op, path, "below_min", [])
        if "max" in md:
            item = minimal_value(shape.member, name, None)
            yield Violation(op, path, "above_max", [item] * (md["max"] + 1))
        yield from _walk(op, path + (0,), shape.member, name, depth + 1)
    else:
        yield from _leaf_cases(op, path, shape, name)


def violations_for(operation: str) -> list[Violation]:
    shape = input_shape(operation)
    return list(_walk(operation, (), shape, operation)) if shape is not None else []


def boundary_cases() -> list[Violation]:
    """Every violation of every implemented operation, minus the named exclusions."""
    cases = [v for op in IMPLEMENTED for v in violations_for(op)]
    return [v for v in cases if v.id not in EXCLUDED]


# -- an independent validator for the self-checks ------------------------------------


def check(shape, value, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, kind) of every constraint `value` breaks under `shape`."""
    found: list[tuple[tuple, str]] = []
    md, kind = shape.metadata, shape.type_name
    if kind == "structure":
        for required in shape.required_members:
            if required not in value:
                found.append((path + (required,), "missing"))
        for name, item in value.items():
            if name in shape.members:
                found += check(shape.members[name], item, path + (name,))
        return found
    if kind == "list":
        size = len(value)
        for i, item in enumerate(value):
            found += check(shape.member, item, path + (i,))
    elif kind in ("string", "blob"):
        size = len(value)
        if kind == "string" and shape.enum and value not in shape.enum:
            found.append((path, "enum"))
        if kind == "string" and "pattern" in md and not fullmatch(md["pattern"], value):
            found.append((path, "pattern"))
    elif kind in ("integer", "long"):
        size = value
    else:
        return found
    if "min" in md and size < md["min"]:
        found.append((path, "below_min"))
    if "max" in md and size > md["max"]:
        found.append((path, "above_max"))
    return found
