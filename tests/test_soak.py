"""Memory holds: thousands of sessionless API calls (each one a new Gradio session) level off.

Gradio keeps a copy of every component's config per session, for up to 10,000 sessions by default
(about 0.9 MB each here); app.SESSIONS_KEPT bounds it. Before the bound, 1,500 calls took the server
from 345 MB to 1,684 MB.
"""
import concurrent.futures
import json

import pytest

import app
from tests import hostile_cases as hc
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.slow  # minutes: thousands of calls to a running app

WARM, CALLS, GROWTH_MB = 2 * app.SESSIONS_KEPT, 2000, 100


def test_memory_levels_off_across_thousands_of_sessionless_calls(app_process):
    proc, base = app_process

    def calls(first, n):
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda i: hc.call(base, "data_sample", ["Fashion-MNIST", 1, i % 100])[0],
                                 range(first, first + n)))
    start = hc.rss_mb(proc.pid)
    warm = calls(0, WARM)
    levelled = hc.rss_mb(proc.pid)
    rest = calls(WARM, CALLS)
    end = hc.rss_mb(proc.pid)
    figures = {"start MB": round(start), "after warm-up MB": round(levelled), "after MB": round(end),
               "warm-up calls": WARM, "calls": CALLS, "growth MB": round(end - levelled, 1),
               "completed": warm.count("complete") + rest.count("complete")}
    (ARTIFACTS / "soak-summary.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    assert figures["completed"] == WARM + CALLS
    assert end - levelled < GROWTH_MB, figures
