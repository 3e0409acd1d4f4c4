#!/usr/bin/env python3
# run-tests: duration=7
"""daemon_once - `once`, `once --dry-run`, `status --json` and `run` against
the real emulator (tests/emulator/worlds/test.json, fast durations).

- once, happy path with 1, 2 and 3 datasets, with and without a campaign
  (six cases, each with its own emulator and state directory, run side by
  side): exit 0, and the ledger shows exactly one CreateDatasetImportJob per
  configured dataset, one CreateSolutionVersion, one UpdateCampaign (none
  without a campaign); status --json then says idle, last run succeeded;
  a second `once` in the same minute creates nothing new.
- once --dry-run: prints the calls with their JSON bodies, makes none.
- run: READY=1 on a NOTIFY_SOCKET of our own with STATUS "idle, next run
  ...", then SIGTERM: STOPPING=1 and exit 0 within a second.
"""
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import ARN, check  # noqa: E402

DAILY = "rate(1 day)"
ONCE_TIMEOUT_S = 60


# ---- the cases ------------------------------------------------------------------


def count(ledger, op):
    return [x for x in ledger if x["operation"] == op]


def creates(emu):
    led = emu.ledger_lines()
    ok = lambda op: len([x for x in led if x["operation"] == op and x["status"] == 200])  # noqa: E731
    return (ok("CreateDatasetImportJob"), ok("CreateSolutionVersion"), ok("UpdateCampaign"))


def once_case(ctx, n_datasets, campaign):
    label = "once %d dataset(s) %s campaign" % (n_datasets, "with" if campaign else "without")
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = ctx.config(emu, datasets=n_datasets, campaign=campaign, schedule=DAILY, extra={
        "PipelineName": "case%d%s" % (n_datasets, "c" if campaign else "")})
    first_minute = int(time.time()) // 60
    r = ctx.cli(cfg, state, "once", timeout=ONCE_TIMEOUT_S, log_level=None)
    check(r.rc == 0, "%s: %r" % (label, r))
    led = emu.ledger_lines()
    imports = count(led, "CreateDatasetImportJob")
    ok_imports = [x for x in imports if x["status"] == 200]
    arns = sorted(x["params"]["datasetArn"] for x in ok_imports)
    want = sorted(ARN + "dataset/my-dataset-group/" + d[0] for d in prtest.DATASETS[:n_datasets])
    check(arns == want, "%s: imports for %s, want one each for %s" % (label, arns, want))
    versions = [x for x in count(led, "CreateSolutionVersion") if x["status"] == 200]
    check(len(versions) == 1, "%s: %d CreateSolutionVersion, want 1" % (label, len(versions)))
    updates = [x for x in count(led, "UpdateCampaign") if x["status"] == 200]
    check(len(updates) == (1 if campaign else 0),
          "%s: %d UpdateCampaign, want %d" % (label, len(updates), 1 if campaign else 0))
    check(not campaign or updates[0]["params"].get("solutionVersionArn") ==
          versions[0].get("resultArn"), "%s: UpdateCampaign deployed %s, not the new version %s"
          % (label, updates and updates[0]["params"].get("solutionVersionArn"),
             versions[0].get("resultArn")))
    if campaign:
        # the campaign is described once before the update (the run's
        # look, which is also the late-host pre-check), not twice
        ops = [x["operation"] for x in led]
        i = ops.index("UpdateCampaign")
        j = max(k for k in range(i) if ops[k] == "DescribeSolutionVersion")
        check(ops[j + 1:i] == ["DescribeCampaign"],
              "%s: between training and UpdateCampaign: %s, want one DescribeCampaign"
              % (label, ops[j + 1:i]))
    check(not any(x.get("signatureOk") is False for x in led),
          "%s: a request with a bad signature" % label)
    # status --json
    r = ctx.cli(cfg, state, "status", "--json", timeout=10, log_level=None)
    check(r.rc == 0, "%s: status --json: %r" % (label, r))
    try:
        p = json.loads(r.out)["pipelines"][0]
        stage, history, next_fire = p["stage"], p["history"], p["next_fire"]
    except (ValueError, KeyError, IndexError) as e:
        raise prtest.Fail("%s: status --json unparsable (%s): %s" % (label, e, r.out[:300]))
    check(stage == "idle", "%s: status stage %s, want idle" % (label, stage))
    check(history and history[0]["outcome"] == "succeeded",
          "%s: status history %s" % (label, history))
    check(history[0]["duration_s"] is not None, "%s: no duration in the history" % label)
    check(next_fire, "%s: no next_fire" % label)
    # the same minute again: the jobs exist by name; nothing new is created
    n_creates = len([x for x in emu.ledger_lines()
                     if x["operation"].startswith("Create") and x["status"] == 200])
    m0 = int(time.time()) // 60
    r = ctx.cli(cfg, state, "once", timeout=ONCE_TIMEOUT_S, log_level=None)
    m1 = int(time.time()) // 60
    n2 = len([x for x in emu.ledger_lines()
              if x["operation"].startswith("Create") and x["status"] == 200])
    check(r.rc == 0, "%s: second once: %r" % (label, r))
    check(not (m0 == m1 and m0 == first_minute and n2 != n_creates),
          "%s: a second once in the same minute created %d new job(s)" % (label, n2 - n_creates))
    ctx.log("%d calls", len(led))


def dry_run(ctx):
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = ctx.config(emu, datasets=2, campaign=True, schedule=DAILY,
                     extra={"PipelineName": "dry"})
    r = ctx.cli(cfg, state, "once", "--dry-run", timeout=10, log_level=None)
    check(r.rc == 0, "once --dry-run: %r" % r)
    for want in ('CreateDatasetImportJob', '"jobName":',
                 '"dataLocation":\t"s3://prtest-bucket/users.csv"',
                 'CreateSolutionVersion', 'UpdateCampaign', '"campaignArn":'):
        check(want in r.out, "once --dry-run output lacks %r:\n%s" % (want, r.out))
    check(not emu.ledger_lines(), "once --dry-run made %d call(s)" % len(emu.ledger_lines()))
    check(not os.listdir(state),
          "once --dry-run wrote into the state directory: %s" % os.listdir(state))


def run_ready_and_term(ctx):
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, campaign=True, schedule=DAILY,
                     extra={"PipelineName": "runner"})
    d = ctx.daemon(cfg, state, log_level=None)   # waits for READY=1 (10 s)
    status = d.notify.statuses()
    check(status and status[-1].startswith("idle, next run "),
          "run: STATUS at READY is %r, want 'idle, next run ...'" % status)
    # a second daemon on the same state directory is refused
    r = ctx.cli(cfg, state, "run", timeout=10, log_level=None)
    check(r.rc == 78 and "in use" in r.err, "second run on one state directory: %r" % r)
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    r = d.wait(5)
    took = time.monotonic() - t0
    check(took <= 1.0, "run: exit took %.2f s after SIGTERM, want within a second" % took)
    check(r.rc == 0, "run: exit %d after SIGTERM, want 0" % r.rc)
    d.notify.wait_for(lambda m: m.get("STOPPING") == "1", 0.2, "STOPPING=1 after SIGTERM")
    ctx.log("run: READY=1, then SIGTERM exit %d in %.0f ms", r.rc, took * 1000)


def once_interrupted_then_finished(ctx):
    """SIGTERM during `once` saves the run (exit 143); the next `once`
    finishes that run, adopting its jobs: one import, one version, one
    campaign update in all."""
    label = "once interrupted"
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = ctx.config(emu, datasets=2, campaign=True, schedule=DAILY,
                     extra={"PipelineName": "resume"})
    p = ctx.spawn(cfg, state, "once", log_level=None)
    prtest.wait_until(lambda: len(count(emu.ledger_lines(), "CreateDatasetImportJob")) >= 2,
                      20, "%s: imports created" % label, step=0.05)
    p.signal(signal.SIGTERM)
    r = p.wait(5)
    check(r.rc == 128 + signal.SIGTERM,
          "%s: interrupted once exit %d, want %d" % (label, r.rc, 128 + signal.SIGTERM))
    r = ctx.cli(cfg, state, "status", "--json", timeout=10, log_level=None)
    try:
        stage = json.loads(r.out)["pipelines"][0]["stage"]
    except (ValueError, KeyError, IndexError):
        raise prtest.Fail("%s: status --json unparsable: %s" % (label, r.out[:200]))
    check(stage != "idle", "%s: status after SIGTERM says idle, want the saved run" % label)
    r = ctx.cli(cfg, state, "once", timeout=ONCE_TIMEOUT_S, log_level=None)
    check(r.rc == 0, "%s: %r" % (label, r))
    got = creates(emu)
    check(got == (2, 1, 1), "%s: creates %s, want (2, 1, 1)" % (label, got))


def once_unreachable(ctx):
    """Nothing listens at the endpoint: `once` gives up with 69."""
    prtest.require_binaries()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    state = ctx.state_dir()
    cfg = ctx.config(None, datasets=2, campaign=True, schedule=DAILY, extra={
        "PipelineName": "dead", "EndpointUrl": "http://127.0.0.1:%d" % port})
    r = ctx.cli(cfg, state, "once", timeout=ONCE_TIMEOUT_S, log_level=None,
                env=ctx.env(extra={"AWS_MAX_ATTEMPTS": "1"}))
    check(r.rc == 69 and "unreachable" in r.err, "once against a dead endpoint: want 69: %r" % r)


def case(n, c):
    return ("once %d dataset(s) %s campaign" % (n, "with" if c else "without"),
            lambda ctx: once_case(ctx, n, c))


if __name__ == "__main__":
    prtest.main([case(n, c) for n in (1, 2, 3) for c in (False, True)] + [
        ("once --dry-run", dry_run),
        ("once against a dead endpoint", once_unreachable),
        ("once interrupted, then finished by the next once", once_interrupted_then_finished),
        ("run: READY=1, SIGTERM", run_ready_and_term),
    ], parallel=10)
