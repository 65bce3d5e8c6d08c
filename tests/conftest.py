from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.support import Clock, Server, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path / "data")


@pytest.fixture
def make_server(tmp_path: Path) -> Callable[..., AbstractContextManager[Server]]:
    """Start a server with extra environment settings: `with make_server(X="1") as s: ...`."""

    @contextmanager
    def factory(clock: Clock | None = None, **env: str) -> Iterator[Server]:
        yield from start_server(tmp_path / "data", clock, **env)

    return factory
