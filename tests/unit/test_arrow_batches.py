"""Writing batches to DuckDB must not drag pandas into the server (about 50 MB resident).

Run in a fresh interpreter: the test process itself has pandas loaded by other tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import sys
from pathlib import Path

from tinytrail.ingest.model import Event
from tinytrail.storage.duckdb_store import DuckDBStore

values = {
    "props": {"plan": "pro"}, "revenue_amount": None, "scroll_depth": None,
    "engagement_ms": None, "is_bot": False, "is_excluded": False, "interactive": True,
}
numbers = {
    "seq", "site_id", "ts", "visitor_id", "session_id", "city", "screen_width", "visitor_key"
}
event = Event(*(
    values.get(name, 1 if name in numbers else "x") for name in Event.__struct_fields__
))
store = DuckDBStore(Path(sys.argv[1]))
store.commit_batch([event], [], [], 1)
assert store.flushed_seq() == 1
print("pandas loaded:", "pandas" in sys.modules)
try:
    import pandas  # noqa: F401
except ImportError:
    print("to_pandas: no pandas installed")
else:
    import pyarrow as pa
    print("to_pandas:", len(pa.table({"a": [1, 2]}).to_pandas()))
"""


def test_a_flush_leaves_pandas_unloaded_and_usable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "events.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "pandas loaded: False" in done.stdout
    if "no pandas installed" in done.stdout:
        pytest.skip("pandas is not installed: nothing more to check")
    # pyarrow's own pandas conversions still work once someone asks for them.
    assert "to_pandas: 2" in done.stdout
