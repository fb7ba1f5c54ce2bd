"""`kmc` with a start-up probe, for the start-up benchmarks and the demo's process test.

Runs the real command line (`console.cli.main`) with `console.app.KmcApp` replaced by a
subclass that, once the GPU-node view's first populated rows are on screen, writes the
wall-clock times of `Ready` and of that frame to `$KMC_STARTUP_REPORT` and exits 0.
It lives with the benchmarks so that production code carries no measuring hook.

    python -c "from benchmarks.startup_probe import main; main()" --kubeconfig … --context …
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


def main() -> None:
    import console.app
    from console.cli import main as kmc

    report = os.environ["KMC_STARTUP_REPORT"]

    class ProbedApp(console.app.KmcApp):
        ready_at: float | None = None
        first_rows_at: float | None = None
        rows = 0

        def on_ready(self) -> None:
            self.ready_at = time.time()
            self._report()

        def on_view_refreshed(self, message: Any) -> None:
            super().on_view_refreshed(message)
            result = message.result
            if self.first_rows_at is None and result.request.view == "nodes" and result.rows:
                self.rows = len(result.rows)
                self.call_after_refresh(self._drawn)

        def _drawn(self) -> None:
            if self.first_rows_at is None:
                self.first_rows_at = time.time()
                self._report()

        def _report(self) -> None:
            if self.ready_at is None or self.first_rows_at is None:
                return
            with open(report, "w") as handle:
                json.dump(
                    {"ready": self.ready_at, "first_rows": self.first_rows_at, "rows": self.rows},
                    handle,
                )
            self.exit(0)

    console.app.KmcApp = ProbedApp  # type: ignore[misc]
    kmc()


if __name__ == "__main__":
    main()
