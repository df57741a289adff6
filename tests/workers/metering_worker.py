"""A metering consumer process for fault tests: consumes a topic into the ledger until killed.

usage: python tests/workers/metering_worker.py DB_URL BACKEND TOPIC GROUP
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))

from liftmeter.runtime import open_runtime  # noqa: E402
from metering.consumer import run_consumer  # noqa: E402

from support import make_settings  # noqa: E402


def main() -> None:
    db_url, backend, topic, group = sys.argv[1:5]
    rt = open_runtime(make_settings(db_url, backend=backend, session_timeout_ms=2000))
    print("ready", flush=True)
    run_consumer(
        event_log=rt.event_log,
        sessions=rt.sessions,
        stop=threading.Event(),
        group_id=group,
        topics=[topic],
        max_records=2000,
        timeout_ms=200,
    )


if __name__ == "__main__":
    main()
