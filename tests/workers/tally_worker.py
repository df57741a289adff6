"""A consumer process for fault tests: consumes a topic into the tally table until killed.

usage: python tests/workers/tally_worker.py DB_URL BACKEND TOPIC GROUP
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))

from liftmeter.runtime import open_runtime  # noqa: E402

from support import make_settings  # noqa: E402
from tally import TallyHandler, make_runner  # noqa: E402


def main() -> None:
    db_url, backend, topic, group = sys.argv[1:5]
    rt = open_runtime(make_settings(db_url, backend=backend, session_timeout_ms=2000))
    with rt.event_log.consumer(group, [topic]) as consumer:
        runner = make_runner(consumer, rt.sessions, group, TallyHandler("proc"), max_records=500)
        print("ready", flush=True)
        runner.run()


if __name__ == "__main__":
    main()
