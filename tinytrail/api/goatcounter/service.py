"""What the GoatCounter adapter keeps for the server's lifetime: its repository and exports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinytrail.api.goatcounter.exports_jobs import ExportManager
from tinytrail.meta.db import make_sessionmaker
from tinytrail.meta.goatcounter import GoatCounterRepo

if TYPE_CHECKING:
    from tinytrail.runtime import Runtime


class GoatCounter:
    def __init__(self, runtime: Runtime) -> None:
        self.repo = GoatCounterRepo(make_sessionmaker(runtime.meta_db))
        self.exports = ExportManager(runtime, self.repo)
