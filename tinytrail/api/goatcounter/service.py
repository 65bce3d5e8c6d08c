"""What the GoatCounter adapter keeps for the server's lifetime: its repository and exports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinytrail.api.goatcounter.exports_jobs import ExportManager

if TYPE_CHECKING:
    from tinytrail.runtime import Runtime


class GoatCounter:
    def __init__(self, runtime: Runtime) -> None:
        self.repo = runtime.goatcounter_repo
        self.exports = ExportManager(runtime, self.repo)
