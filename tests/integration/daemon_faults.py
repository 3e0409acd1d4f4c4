#!/usr/bin/env python3
# run-tests: duration=15
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
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402


def once_ok(ctx, emu, datasets=3, campaign=True, rejected_ok=False, extra=None,
            bad_signatures_ok=False):
    prtest.require_commands("once")
    cfg = ctx.config(emu, datasets=datasets, campaign=campaign, extra=extra)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once: want exit 0 (run succeeded)\n%r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=datasets, campaign=campaign, rejected_ok=rejected_ok,
                       bad_signatures_ok=bad_signatures_ok)
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
        {"operation": "CreateSolutionVersion", "kind": "500", "phase": "after", "count": 1},
        {"operation": "UpdateCampaign", "kind": "500", "count": 1},
    ])
    once_ok(ctx, emu, rejected_ok=True)
    led = prtest.Ledger(emu)
    check(any(e.get("fault") in ("500", "503") and e["operation"] in prtest.CREATE_OPS
              for e in led.lines), "no 5xx on a create: the fault did not bite")


def resets(ctx):
    # "after": the emulator runs the create, then resets/drops the
    # connection: the outcome is unknown to the client, which must look its
    # job up by name instead of creating it again (a retried create answered
    # AlreadyExists/InUse is allowed: the world must still hold one job per
    # dataset). "before": the request never reached the service.
    emu = ctx.emulator(seed=11, faults=[
        {"operation": "CreateDatasetImportJob", "kind": "reset", "phase": "after", "count": 1},
        {"operation": "CreateDatasetImportJob", "kind": "drop", "after": 1, "count": 1},
        {"operation": "CreateSolutionVersion", "kind": "reset", "phase": "after", "count": 1},
        {"operation": "UpdateCampaign", "kind": "reset", "phase": "after", "count": 1},
        {"operation": "DescribeDatasetImportJob", "kind": "reset", "count": 2},
        {"operation": "*", "kind": "drop", "rate": 0.05},
    ])
    once_ok(ctx, emu, rejected_ok=True)
    check_bit(emu, ("reset", "drop"))


def malformed(ctx):
    emu = ctx.emulator(seed=5, faults=[
        {"operation": "CreateDatasetImportJob", "kind": "malformed", "phase": "after",
         "count": 1},
        {"operation": "CreateDatasetImportJob", "kind": "truncated", "count": 1},
        {"operation": "CreateSolutionVersion", "kind": "cut", "count": 1},
        {"operation": "DescribeSolutionVersion", "kind": "content_type", "count": 1},
        {"operation": "UpdateCampaign", "kind": "malformed", "phase": "after", "count": 1},
        {"operation": "*", "kind": "malformed", "rate": 0.1},
    ])
    once_ok(ctx, emu, rejected_ok=True)
    check_bit(emu, ("malformed", "truncated", "cut"))


def check_bit(emu, kinds):
    """The faults hit creates that ran: the unknown-outcome path was taken."""
    hidden = [e for e in emu.ledger_lines() if e["operation"] in prtest.CREATE_OPS
              and e.get("fault") in kinds and prtest.executed(e)]
    check(hidden, "no create ran with its answer lost: the faults did not bite")


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


def stuck_run(ctx):
    # an import that would take a minute; MaxRunDuration=3 ends the run
    prtest.require_commands("once")
    emu = ctx.emulator(durations={"importMs": 60000})
    cfg = ctx.config(emu, extra={"MaxRunDuration": "3"})
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 1, "once of a stuck run: want exit 1\n%r" % r)
    check(r.elapsed < 15, "the stuck run took %.1fs with MaxRunDuration=3" % r.elapsed)
    check("MaxRunDuration" in r.err, "the log does not say MaxRunDuration ended the run\n%r" % r)
    led = prtest.Ledger(emu)
    check(led.count_ops().get("CreateSolutionVersion", 0) == 0, "trained: %s" % led.summary())
    check(prtest.last_outcome(sd) == "failed", "state: %s" % prtest.read_state(sd))


def unreachable_503(ctx):
    # every call answered 503: `once` gives up with 69 and creates nothing twice
    prtest.require_commands("once")
    emu = ctx.emulator(faults=[{"operation": "*", "kind": "503"}])
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once", timeout=90)
    check(r.rc == 69, "once against a service answering 503: want exit 69\n%r" % r)
    # the creates' outcomes are unknown (a 503 cannot tell whether the job
    # was made): the run is kept for the next one to look them up by name
    st = prtest.read_state(sd)
    run = st and st.get("run")
    check(run and run.get("stage") == "importing" and "unreachable" in run.get("reason", ""),
          "the state does not keep the run that stopped polling: %s" % st)
    led = prtest.Ledger(emu)
    check(not any(prtest.executed(e) for e in led.lines), "a call went through: %s" % led.summary())


def unreachable_refused(ctx):
    # nothing listens on the endpoint at all
    prtest.require_commands("once")
    emu = ctx.emulator()
    emu.stop()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once", timeout=90)
    check(r.rc == 69, "once with the endpoint refusing connections: want exit 69\n%r" % r)


def outage_then_back(ctx):
    # `run` keeps trying through an outage in the middle of a run (every
    # call 503 or reset for a while), then finishes it once
    prtest.require_commands("run")
    emu = ctx.emulator(durations={"importMs": 500})
    cfg = ctx.config(emu, schedule="cron(0 0 1 1 ? *)", extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    d = ctx.daemon(cfg, sd)

    def importing():
        st = prtest.read_state(sd)
        return st and st.get("run") and all(s.get("arn") for s in st["run"]["imports"])
    prtest.wait_until(importing, prtest.RUN_TIMEOUT_S, "imports created", 0.01)
    emu.faults([{"operation": "*", "kind": "503", "rate": 0.7},
                {"operation": "*", "kind": "reset"}])
    n0 = len(emu.ledger_lines())
    prtest.wait_until(lambda: len(emu.ledger_lines()) >= n0 + 8, 30,
                      "the daemon to keep trying during the outage", 0.1)
    check(d.alive(), "the daemon died during the outage:\n%r" % d.result())
    emu.faults([])
    prtest.wait_until(lambda: prtest.run_finished(prtest.read_state(sd)), 60,
                      "the run to finish after the outage", 0.1)
    d.signal(signal.SIGTERM)
    r = d.wait(prtest.STOP_TIMEOUT_S)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    check(prtest.last_outcome(sd) == "succeeded", "state: %s" % prtest.read_state(sd))
    prtest.Ledger(emu).assert_one_run(rejected_ok=True)


def service_clock_skew(ctx):
    # the service's clock 10 minutes ahead of ours: the first signatures are
    # "expired"; the client corrects its clock offset from the reply's Date
    # header and the run completes with no duplicate
    prtest.require_commands("once")
    if "--clock-skew" not in prtest.emulator_help():
        raise prtest.Skip("the emulator has no --clock-skew")
    emu = ctx.emulator(args=["--clock-skew", "600"])
    once_ok(ctx, emu, bad_signatures_ok=True)
    led = prtest.Ledger(emu)
    check(any(e.get("error") == "InvalidSignatureException" for e in led.lines),
          "no signature was rejected: the skew did not bite")


def config_error(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, extra={"PollInterval": "often"})
    r = ctx.cli(cfg, ctx.state_dir(), "once")
    check(r.rc == 78, "once with a bad config: want exit 78\n%r" % r)
    check("%s:" % cfg in r.err, "the error does not name the file\n%r" % r)
    check(not emu.ledger_lines(), "calls were made with a bad config")


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
    ("stuck run ended by MaxRunDuration", stuck_run),
    ("every call 503: once exits 69", unreachable_503),
    ("connection refused: once exits 69", unreachable_refused),
    ("outage in the middle of a run: run carries on", outage_then_back),
    ("service clock 10 minutes ahead", service_clock_skew),
    ("bad config: once exits 78", config_error),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=6)
