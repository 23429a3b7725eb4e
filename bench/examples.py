"""Group `examples`: cold deploy and warm redeploy of every example app, git push to serving.

Each is compared with the sum of its raw steps measured in the same run (bench/pipeline.py):
SDK build (nocache for cold, with cache for warm) + container start to first 200 + `nginx -t`
and reload. "Serving" is detected by polling the app's vhost through nginx until the new body
(or, for a first deploy, any 200) comes back.

Each warm row is followed by the same pushes against the raw steps plus two costs the raw
steps leave out and every push-to-deploy that does what #4 asks pays: a plain `git push` of
such a change (a hookless bare repo behind a plain sshd) and the default settle time a new web
container must survive (`checks wait`). Not a floor: paas's own nginx switch (0.11 s) is
faster than the raw reload, which waits for the old workers to exit (0.21 s).

Cold deploys build every layer (apt runtime, pip/npm, the app), so they are dominated by the
package mirrors' speed and run only in full runs; --quick measures warm redeploys only.
"""

from __future__ import annotations

import statistics

from bench import pipeline
from bench.common import Row
from paas.runtime import scheduler

GROUP = "examples"
RAW_COLD = "raw: SDK build nocache + start to 200 + nginx -t/reload to its end"
RAW_WARM = "raw: SDK build cached + start to 200 + nginx -t/reload to its end"


def measure(quick: bool) -> list[Row]:
    rows: list[Row] = []
    names = pipeline.examples()
    if not quick:
        for example in names:
            m = pipeline.cold(example)
            rows.append(Row(GROUP, f"{example}: cold deploy, push → serving", [p.to_serving for p in m.pushes], "s",
                            baseline=RAW_COLD, baseline_samples=m.raw_sums, target="<= 1.5x",
                            note=m.error or "n=1, nothing cached"))
    settle = scheduler.SETTLE_WITH_HTTP_CHECK  # every example's web has an HTTP check
    for example in names:
        m = pipeline.warm(example, pipeline.warm_reps(example, quick))
        served = [p.to_serving for p in m.pushes]
        rows.append(Row(GROUP, f"{example}: warm redeploy, push → serving", served, "s",
                        baseline=RAW_WARM, baseline_samples=m.raw_sums, target="<= 1.5x; < 4 s",
                        note=m.error or f"buildpack {m.buildpack}"))
        if m.plain_push:
            # The raw steps plus what every push-to-deploy with the settle time pays.
            rows.append(Row(GROUP, f"  {example}: vs raw steps + plain git push + settle time", served, "s",
                            baseline=f"raw steps + git push over plain ssh + {settle:g} s",
                            baseline_samples=[r + g + settle for r, g in zip(m.raw_sums, m.plain_push)],
                            note=f"plain git push of such a change: {statistics.median(m.plain_push):.2f}s"))
    return rows
