"""GoatCounter export jobs: a gzipped CSV written on a background thread, kept for 24 hours.

The job reads events through the store's `export_events` (row-level reads are not aggregate
queries) and writes `data_dir/exports/goatcounter-export-<code>-<time>-<start>.csv.gz`. It
writes to a temporary name and renames when complete, so a download never sees half a file.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tinytrail.ingest.goatcounter_csv import write_export
from tinytrail.meta.goatcounter import GoatCounterRepo, PathKey
from tinytrail.meta.models import GoatCounterExport

if TYPE_CHECKING:
    from tinytrail.runtime import Runtime

log = logging.getLogger(__name__)

KEEP_FOR = timedelta(hours=24)
INTERRUPTED = "the server stopped while this export was running; start a new one"


class ExportManager:
    def __init__(self, runtime: Runtime, repo: GoatCounterRepo) -> None:
        self.runtime = runtime
        self.repo = repo
        self.folder = runtime.settings.data_dir / "exports"
        self._threads: dict[int, threading.Thread] = {}
        # A job that was running when the server stopped will never finish: say so.
        for export in repo.unfinished_exports():
            self._fail(export.id, INTERRUPTED)

    def start(self, site_id: int, code: str, start_from: int) -> GoatCounterExport:
        now = self.runtime.clock()
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        path = self.folder / f"goatcounter-export-{code}-{stamp}-{start_from}.csv.gz"
        export = self.repo.create_export(site_id, start_from, str(path), now)
        # Two exports in the same second from the same cursor would share a name.
        if path.exists() or any(t.name == str(path) for t in list(self._threads.values())):
            path = path.with_name(f"{path.name.removesuffix('.csv.gz')}-{export.id}.csv.gz")
            self.repo.update_export(export.id, path=str(path))
            export.path = str(path)
        thread = threading.Thread(
            target=self._run, args=(export.id, site_id, start_from, path), name=str(path)
        )
        thread.daemon = True
        self._threads[export.id] = thread
        thread.start()
        return export

    def wait(self, export_id: int, timeout: float | None = None) -> None:
        """Block until a job started by this process ends (tests and the CLI use it)."""
        thread = self._threads.get(export_id)
        if thread is not None:
            thread.join(timeout)

    def _run(self, export_id: int, site_id: int, start_from: int, path: Path) -> None:
        partial = path.with_name(path.name + ".partial")
        try:
            # Hits answered with 202 may still sit in the log; an export includes them.
            self.runtime.flusher.flush()
            with gzip.open(partial, "wt", encoding="utf-8", newline="") as out:
                rows, last = write_export(
                    self.runtime.store,
                    site_id,
                    start_from,
                    out,
                    lambda keys: self._titles(site_id, keys),
                )
            os.replace(partial, path)
            self.repo.update_export(
                export_id,
                finished_at=self.runtime.clock(),
                num_rows=rows,
                last_hit_id=last,
                size=_size_mib(path.stat().st_size),
                hash="sha256-" + _sha256(path),
            )
        except Exception as exc:
            log.exception("GoatCounter export %s failed", export_id)
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            self._fail(export_id, f"export failed: {exc}"[:1000])
        finally:
            self._threads.pop(export_id, None)

    def _titles(self, site_id: int, keys: set[PathKey]) -> dict[PathKey, str]:
        return self.repo.titles(site_id, keys)

    def _fail(self, export_id: int, message: str) -> None:
        self.repo.update_export(export_id, finished_at=self.runtime.clock(), error=message)

    def cleanup(self) -> int:
        """Delete export files finished more than 24 hours ago (the rows stay); returns how many."""
        cutoff = self.runtime.clock() - KEEP_FOR
        removed = 0
        for export in self.repo.finished_exports():
            if _aware(export.finished_at) <= cutoff and os.path.exists(export.path):
                with contextlib.suppress(OSError):
                    os.remove(export.path)
                    removed += 1
        # Files no record vouches for any more (a deleted site's, a crashed job's partial file)
        # go by their age.
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime <= cutoff.timestamp() and path.is_file():
                        path.unlink()
                        removed += 1
        return removed


def _aware(moment: datetime | None) -> datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    assert moment is not None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _size_mib(size: int) -> str:
    """Upstream's size: MiB with one decimal, and never `0.0`."""
    text = f"{size / (1024 * 1024):.1f}"
    return "0.1" if text == "0.0" else text


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
