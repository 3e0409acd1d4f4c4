#!/usr/bin/env python3
# run-tests: exclusive duration=35
# (its peak RSS grows with the load beside it: by 4 to 6 MB beside a build and six tests)
"""daemon_scale - one daemon, 1,000 pipelines, one full cycle each.

One `once` over SCALE_TEST_PIPELINES (default 1000) pipelines that all fire
together against the emulator (1,000 dataset groups, solutions and
campaigns; jobs take milliseconds), twice, side by side, each against an
emulator of its own: once clean, once with faults
injected on every operation (throttling, 500s, connection resets, and 500s
after a create ran, so the daemon does not know whether its create went
through). Each pass must show, from the emulator's ledger and the process:

- `once` exits 0: every run completed;
- exactly one import per dataset, one solution version per solution and one
  campaign update per campaign that the service ran (a create hidden by a
  fault counts: it ran), so nothing was created twice;
- every campaign ends on its pipeline's new version;
- the global cap MaxApiCallsPerSecond holds in every sliding one-second
  window of the ledger's request times (SCALE_TEST_RATE, default 400, which
  the clean pass reaches; SCALE_TEST_RATE_FAULTS, default 500, for the
  faulty one, whose pace retries set);
- the process's peak RSS (its VmHWM, see daemon_bench.run_rusage) stays
  within 32 MB.

The figures (time, calls, rate, RSS, CPU) are printed. `make bench` runs
the same scale case at a cap of 200 with more detail (daemon_bench.py).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "bench"))
import prtest  # noqa: E402
from prtest import check  # noqa: E402
import daemon_bench as bench  # noqa: E402  (world/config generators, wait4)

N = int(os.environ.get("SCALE_TEST_PIPELINES", "1000"))
# The caps are upper bounds the passes are checked against, not their pace:
# on 2 cores the clean pass peaks at about 300 calls/s, the faulty one
# (retries and waits set its pace; it is about duplicates) at about 380.
# `make bench` (daemon_bench.py) runs the scale case at a cap of 200, which
# it does reach, for the limiter's own figure.
RATE = int(os.environ.get("SCALE_TEST_RATE", "400"))
RATE_FAULTS = int(os.environ.get("SCALE_TEST_RATE_FAULTS", "500"))
# 1,000 runs at once, each holding its state machine (struct rt_run, about
# 11.9 kB: seven slots, the dataset records of three, the batch job's
# settings): 28 MB measured.
RSS_LIMIT_KB = 32 * 1024
TIMEOUT_S = 240

FAULTS = {"seed": 11, "rules": [
    {"operation": "CreateDatasetImportJob", "kind": "500", "phase": "after", "rate": 0.03},
    {"operation": "CreateSolutionVersion", "kind": "reset", "phase": "after", "rate": 0.03},
    {"operation": "UpdateCampaign", "kind": "500", "phase": "after", "rate": 0.03},
    {"operation": "*", "kind": "throttle", "rate": 0.04},
    {"operation": "*", "kind": "503", "rate": 0.01},
    {"operation": "*", "kind": "reset", "rate": 0.01},
]}

def ran(calls, op):
    """Requests of op the service ran (status 200, or a fault after it ran)."""
    return [x for x in calls if x["operation"] == op and x.get("resultArn")]


def campaigns_serving(emu):
    """campaign ARN -> the version it serves, from the emulator's state."""
    return {c.get("campaignArn"): c.get("solutionVersionArn") for c in emu.state()["campaigns"]}


def one_pass(ctx, label, faults, rate):
    prtest.require_binaries()
    world = ctx.path("world-%s.json" % label)
    bench.gen_world(world, N, durations_ms=(5, 30, 30, 30))
    if faults:
        with open(world) as f:
            w = json.load(f)
        w["faults"] = faults
        with open(world, "w") as f:
            json.dump(w, f)
    emu = ctx.emulator(world=world)
    state = ctx.state_dir()
    cfg = ctx.path("p.yaml")
    bench.gen_config(cfg, N, emu.url, bench.FAR_SCHEDULE, rate=rate)
    res = bench.run_rusage(
        [prtest.BIN, "-c", cfg, "--state-dir", state, "--log-level", "warning", "once"],
        ctx.env(), TIMEOUT_S, cwd=ctx.dir)
    rc, elapsed, cpu, maxrss, out, err = res
    calls = bench.personalize_calls(emu.ledger_lines())
    serving = campaigns_serving(emu)
    imports = ran(calls, "CreateDatasetImportJob")
    versions = ran(calls, "CreateSolutionVersion")
    updates = ran(calls, "UpdateCampaign")
    faulted = sum(1 for x in calls if x.get("fault"))
    times = sorted(bench.ledger_time(x) for x in calls)
    w1 = bench.max_in_window(times, 1.0) if times else 0
    ctx.log("%d pipelines in %.1f s, %d calls (%d faults injected), "
            "at most %d in any 1 s (cap %d), peak RSS %.1f MB, CPU %.2f s",
            N, elapsed, len(calls), faulted, w1, rate, maxrss / 1024.0, cpu)
    check(rc == 0, "%s: once exited %d after %.0f s: %s" % (label, rc, elapsed, err[-800:]))
    for what, lst, key in (("imports", imports, "datasetArn"),
                           ("solution versions", versions, "solutionArn"),
                           ("campaign updates", updates, "campaignArn")):
        distinct = len(set(x["params"][key] for x in lst))
        check(len(lst) == N and distinct == N, "%s: %d %s ran for %d distinct resources, "
              "want %d each once" % (label, len(lst), what, distinct, N))
    want = {x["params"]["campaignArn"]: x["params"]["solutionVersionArn"] for x in updates}
    new = {x["params"]["solutionArn"]: x["resultArn"] for x in versions}
    wrong = [c for c, v in want.items() if serving.get(c) != v]
    check(not wrong, "%s: %d campaigns do not serve the version of their update, e.g. %s"
          % (label, len(wrong), wrong[:1]))
    check(set(want.values()) == set(new.values()),
          "%s: the campaign updates do not name the new versions" % label)
    check(w1 <= rate, "%s: %d calls in one second, cap %d" % (label, w1, rate))
    check(maxrss <= RSS_LIMIT_KB, "%s: peak RSS %.1f MB > %d MB" % (label, maxrss / 1024.0,
                                                  RSS_LIMIT_KB // 1024))


if __name__ == "__main__":
    # side by side: each pass has its own emulator (its ledger, the rate
    # measured) and its own daemon (its RSS); the passes wait on the daemon's
    # pace rather than on the CPU, so together they take the time of one
    prtest.main([
        ("clean", lambda ctx: one_pass(ctx, "clean", None, RATE)),
        ("faults", lambda ctx: one_pass(ctx, "faults", FAULTS, RATE_FAULTS)),
    ], parallel=2)
