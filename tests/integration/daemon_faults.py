#!/usr/bin/env python3
"""daemon_faults - `personalize-retrain once` against the emulator: the happy
path (1, 2, 3 datasets, with and without a campaign), then every fault ends
right.

Transient faults (throttling bursts, 5xx, resets/drops, malformed, truncated,
cut replies and a wrong content type) must not stop the run: it completes
(exit 0) and the world holds exactly one import job per dataset, one
solution version and one executed UpdateCampaign - no duplicate job,
thanks to the client's retries and find-by-name adoption. Scripted job
failures end the run as failed (exit 1) at the right stage:
  - a failed import: no CreateSolutionVersion is ever called;
  - failed training: no UpdateCampaign is ever called, the campaign keeps
    its old version;
  - a failed campaign update: the log says the campaign still serves the
    old version, and it does.
See prtest.Ledger for exactly what is counted."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402


def once_ok(ctx, emu, datasets=3, campaign=True, rejected_ok=False, extra=None):
    prtest.require_commands("once")
    cfg = ctx.config(emu, datasets=datasets, campaign=campaign, extra=extra)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once: want exit 0 (run succeeded)\n%r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=datasets, campaign=campaign, rejected_ok=rejected_ok)
    check(prtest.last_outcome(sd) == "succeeded",
          "state history does not record a success: %s" % prtest.read_state(sd))
    st = prtest.read_state(sd)
    check(st.get("run") is None, "state still holds an unfinished run: %s" % st.get("run"))
    if led.rejected():
        ctx.log("rejected creates (adopted afterwards): %s",
                [(e["operation"], e["error"]) for e in led.rejected()])
    return r, led


def happy(datasets, campaign):
    def case(ctx):
        emu = ctx.emulator()
        r, led = once_ok(ctx, emu, datasets=datasets, campaign=campaign)
        if not campaign:
            check(led.campaign["solutionVersionArn"] == prtest.INITIAL_VERSION,
                  "campaign changed though none is configured")
    return case


def throttling(ctx):
    emu = ctx.emulator(faults=[
        # a burst at the start (whatever the calls), then one on each create
        {"operation": "*", "kind": "throttle", "count": 6},
        {"operation": "CreateDatasetImportJob", "kind": "throttle", "count": 2},
        {"operation": "CreateSolutionVersion", "kind": "throttle", "count": 2},
        {"operation": "DescribeSolutionVersion", "kind": "throttle", "count": 2},
        {"operation": "UpdateCampaign", "kind": "throttle", "count": 2},
        {"operation": "DescribeCampaign", "kind": "throttle", "count": 2},
    ])
    once_ok(ctx, emu)
    led = prtest.Ledger(emu)
    n = sum(1 for e in led.lines if e.get("fault") == "throttle")
    check(n >= 12, "only %d throttled requests: the fault did not bite" % n)


def server_errors(ctx):
    emu = ctx.emulator(seed=7, faults=[
        {"operation": "*", "kind": "500", "rate": 0.2},
        {"operation": "*", "kind": "503", "rate": 0.1},
        {"operation": "CreateSolutionVersion", "kind": "503", "count": 1},
        {"operation": "UpdateCampaign", "kind": "500", "count": 1},
    ])
    once_ok(ctx, emu)
    led = prtest.Ledger(emu)
    check(any(e.get("fault") in ("500", "503") and e["operation"] in prtest.CREATE_OPS
              for e in led.lines), "no 5xx on a create: the fault did not bite")


def resets(ctx):
    # Reset/drop after the emulator ran the call: the outcome is unknown to
    # the client, which must look its job up by name instead of creating it
    # again (a retried create answered AlreadyExists/InUse is allowed: the
    # world must still hold one job per dataset).
    emu = ctx.emulator(seed=11, faults=[
        {"operation": "CreateDatasetImportJob", "kind": "reset", "count": 1},
        {"operation": "CreateDatasetImportJob", "kind": "drop", "after": 1, "count": 1},
        {"operation": "CreateSolutionVersion", "kind": "reset", "count": 1},
        {"operation": "UpdateCampaign", "kind": "reset", "count": 1},
        {"operation": "DescribeDatasetImportJob", "kind": "reset", "count": 2},
        {"operation": "*", "kind": "drop", "rate": 0.05},
    ])
    once_ok(ctx, emu, rejected_ok=True)


def malformed(ctx):
    emu = ctx.emulator(seed=5, faults=[
        {"operation": "CreateDatasetImportJob", "kind": "malformed", "count": 1},
        {"operation": "CreateDatasetImportJob", "kind": "truncated", "count": 1},
        {"operation": "CreateSolutionVersion", "kind": "cut", "count": 1},
        {"operation": "DescribeSolutionVersion", "kind": "content_type", "count": 1},
        {"operation": "UpdateCampaign", "kind": "malformed", "count": 1},
        {"operation": "*", "kind": "malformed", "rate": 0.1},
    ])
    once_ok(ctx, emu, rejected_ok=True)


REASON = "prtest scripted failure 4711"


def failed_run(ctx, script, datasets=3):
    prtest.require_commands("once")
    emu = ctx.emulator(script=dict(script, failureReason=REASON))
    cfg = ctx.config(emu, datasets=datasets)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 1, "once: want exit 1 (a job failed)\n%r" % r)
    check(prtest.last_outcome(sd) == "failed",
          "state history does not record a failure: %s" % prtest.read_state(sd))
    return emu, r, prtest.Ledger(emu)


def failed_import(ctx):
    emu, r, led = failed_run(ctx, {"importFails": ["ITEMS"]})
    ops = led.count_ops()
    check(ops.get("CreateSolutionVersion", 0) == 0,
          "CreateSolutionVersion called after a failed import: %s" % led.summary())
    check(ops.get("UpdateCampaign", 0) == 0, "UpdateCampaign called: %s" % led.summary())
    by_type = led.imports_by_type()
    check(all(len(by_type.get(t, [])) == 1 for t, _, _ in prtest.DATASETS),
          "want exactly one import per dataset: %s" % led.summary())
    check(by_type["ITEMS"][0]["status"] == "CREATE FAILED", "ITEMS import not failed")
    check(REASON in r.err + r.out, "the failure reason is not logged\n%r" % r)
    check(led.campaign["solutionVersionArn"] == prtest.INITIAL_VERSION, "campaign changed")


def failed_training(ctx):
    emu, r, led = failed_run(ctx, {"trainingFails": True})
    led.assert_one_run(version_status="CREATE FAILED")
    check(led.count_ops().get("UpdateCampaign", 0) == 0,
          "UpdateCampaign called after failed training: %s" % led.summary())
    check(REASON in r.err + r.out, "the failure reason is not logged\n%r" % r)
    check(led.campaign["solutionVersionArn"] == prtest.INITIAL_VERSION, "campaign changed")


def failed_update(ctx):
    emu, r, led = failed_run(ctx, {"campaignUpdateFails": True})
    led.assert_one_run(deployed=False)
    check(led.campaign["solutionVersionArn"] == prtest.INITIAL_VERSION,
          "the campaign does not serve the old version any more: %s" % led.campaign)
    lines = [l for l in (r.err + r.out).splitlines() if "still serves" in l]
    check(lines, "no log line says the campaign still serves the old version\n%r" % r)
    check(any(prtest.INITIAL_VERSION in l for l in lines),
          "the 'still serves' line does not name the old version %s: %s"
          % (prtest.INITIAL_VERSION, lines))
    check(REASON in r.err + r.out, "the failure reason is not logged\n%r" % r)


CASES = [
    ("happy 1 dataset, no campaign", happy(1, False)),
    ("happy 2 datasets, campaign", happy(2, True)),
    ("happy 3 datasets, campaign", happy(3, True)),
    ("happy 3 datasets, no campaign", happy(3, False)),
    ("throttling bursts", throttling),
    ("500 and 503", server_errors),
    ("resets and drops", resets),
    ("malformed, truncated, cut, wrong content type", malformed),
    ("failed import: no training", failed_import),
    ("failed training: no deploy", failed_training),
    ("failed campaign update: old version still served", failed_update),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=4)
