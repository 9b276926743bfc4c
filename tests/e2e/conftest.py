"""Fixtures: one session-wide server for most tests, fresh servers for tests
that restart, kill or inspect a server's files and logs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from kms_helpers import kms_client, unique
from strongroom_server import (
    ACCOUNT_ID,
    CLOCK_CONTROL_ARGS,
    StrongroomServer,
    random_access_key_id,
    random_secret_access_key,
    resolve_binary,
)


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_environment():
    """Keep the developer's own AWS configuration out of every client we build."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for key in saved:
        del os.environ[key]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    yield
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def strongroom_bin() -> str:
    return resolve_binary()


@pytest.fixture(scope="session")
def account_id() -> str:
    return ACCOUNT_ID


@pytest.fixture(scope="session")
def server(strongroom_bin, tmp_path_factory) -> StrongroomServer:
    """The shared server, started with explicit dev credentials."""
    root = tmp_path_factory.mktemp("session-server")
    srv = StrongroomServer(
        strongroom_bin,
        root / "data",
        root / "logs",
        access_key_id=random_access_key_id(),
        secret_access_key=random_secret_access_key(),
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def make_server(strongroom_bin, tmp_path) -> Callable[..., StrongroomServer]:
    """Factory for private servers (not started); all are stopped at teardown."""
    made: list[StrongroomServer] = []

    def factory(name: str = "private", **kwargs) -> StrongroomServer:
        root = Path(tmp_path) / name
        srv = StrongroomServer(strongroom_bin, root / "data", root / "logs", **kwargs)
        made.append(srv)
        return srv

    yield factory
    for srv in made:
        srv.stop()


@pytest.fixture
def clock_server(make_server) -> StrongroomServer:
    """A started private server with --dev-clock-control. Time only moves
    forward, so every time-travel test gets its own."""
    srv = make_server("clock", extra_args=CLOCK_CONTROL_ARGS)
    srv.start()
    return srv


@pytest.fixture
def clock_kms(clock_server):
    """boto3 KMS client of `clock_server`."""
    return kms_client(clock_server.endpoint, clock_server.access_key_id,
                      clock_server.secret_access_key, clock_server.region)


@pytest.fixture(scope="session")
def kms(server):
    """boto3 KMS client with botocore's own parameter validation on."""
    return kms_client(server.endpoint, server.access_key_id, server.secret_access_key, server.region)


@pytest.fixture(scope="session")
def kms_raw(server):
    """boto3 KMS client that sends whatever we give it (no client-side validation)."""
    return kms_client(
        server.endpoint, server.access_key_id, server.secret_access_key, server.region, validate=False
    )


@pytest.fixture
def new_key(kms, request) -> Callable[..., dict]:
    """Create a fresh symmetric key; returns its KeyMetadata."""

    def create(**kwargs) -> dict:
        kwargs.setdefault("Description", f"e2e {request.node.name}")
        return kms.create_key(**kwargs)["KeyMetadata"]

    return create


@pytest.fixture
def key(new_key) -> dict:
    """One fresh enabled key for the test."""
    return new_key()


@pytest.fixture
def new_alias(kms) -> Callable[[str], str]:
    """Create a uniquely named alias for a key id; returns the alias name."""

    def create(target_key_id: str, prefix: str = "e2e") -> str:
        name = f"alias/{unique(prefix)}"
        kms.create_alias(AliasName=name, TargetKeyId=target_key_id)
        return name

    return create
