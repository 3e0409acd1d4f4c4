#!/usr/bin/env python3
# run-tests: duration=12
"""daemon_events - EventBusName end to end: `once` against the real
emulator, whose ledger keeps every PutEvents with its entry; four cases run
side by side, each with its own emulator and state directory.

- clean run: the events, in the ledger's order, are started, importing,
  training, deploying, then the end (stage deploying, outcome succeeded,
  solutionVersionArn the version CreateSolutionVersion made, reason null);
  every entry has Source personalize-retrain, the DetailType, the bus, the
  solution and campaign ARNs as Resources, and each PutEvents is signed
  and accepted (200, FailedEntryCount 0); `policy` grants events:PutEvents
  on arn:aws:events:us-east-1:123456789012:event-bus/default.
- gated run (QualityMetric, a new version that regresses): started,
  importing, training, gating, then gated with the gate's reason and
  metrics {ndcg@10: 0.2}; exit 1.
- failed run (the emulator's script fails the import): started,
  importing, then failed in stage importing with the import's reason.
- PutEvents failing (a 503 fault on every PutEvents; bus given as an ARN):
  the run still succeeds (exit 0, UpdateCampaign sent), every event is
  tried 3 times (the standard attempts), one warning is logged for all of
  them, and `once` takes no longer than the clean run plus the retries'
  backoff (at most 1 s + 2 s per event).
- SIGTERM with events still queued (`run`, PutEvents slowed down by the
  emulator): the daemon sends them before it exits (the ledger then holds
  started and importing, both 200), within its flush bound; when they
  cannot go out in time (PutEvents held 30 s) it exits after the bound
  with a warning that names the events dropped; a second SIGTERM during
  the flush stops it at once.
- boto3's own events client (when python3 can import boto3) against the
  emulator: its signature is accepted, a good entry gets an EventId, an
  entry without Detail fails alone with InvalidArgument.
"""
import json
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import AKID, CAMPAIGN_ARN as CAMPAIGN, SECRET, SOLUTION_ARN as SOLUTION, check  # noqa: E402

NDCG = "normalized_discounted_cumulative_gain_at_10"
BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/retraining"
DETAIL_TYPE = "Personalize Retraining Run State Change"
DETAIL_KEYS = {"pipeline", "fireTime", "stage", "outcome", "solutionVersionArn",
               "campaignArn", "batchOutput", "durationSeconds", "reason", "metrics"}
# the standard retry mode: 3 attempts, delays random[0,1) * 1 s, * 2 s
MAX_BACKOFF_PER_EVENT_S = 3.0

# the clean run's wall time, for the bound of the PutEvents-failing case
clean_wall = {}
clean_done = threading.Event()


def count(led, op):
    return [x for x in led if x["operation"] == op]


def events_of(led):
    """(ledger entry, its one PutEvents entry, the parsed Detail) in order."""
    out = []
    for e in sorted(count(led, "PutEvents"), key=lambda x: x["seq"]):
        entries = (e.get("params") or {}).get("Entries") or []
        check(len(entries) == 1, "PutEvents with %d entries, want 1: %s"
              % (len(entries), e.get("params")))
        try:
            detail = json.loads(entries[0]["Detail"])
        except (KeyError, ValueError) as ex:
            raise prtest.Fail("PutEvents Detail unreadable (%s): %s" % (ex, entries[0]))
        out.append((e, entries[0], detail))
    return out


def sequence(evs):
    return [d["outcome"] or d["stage"] for _, _, d in evs]


def check_entries(label, evs, bus, name, want_status=200):
    for e, entry, d in evs:
        check(e["status"] == want_status and e.get("signatureOk"),
              "%s: PutEvents status %s signature %s" % (label, e["status"], e.get("signatureOk")))
        check(entry.get("Source") == "personalize-retrain" and
              entry.get("DetailType") == DETAIL_TYPE and entry.get("EventBusName") == bus,
              "%s: entry %s" % (label, {k: v for k, v in entry.items() if k != "Detail"}))
        check(entry.get("Resources") == [SOLUTION, CAMPAIGN],
              "%s: Resources %s" % (label, entry.get("Resources")))
        check(set(d) == DETAIL_KEYS, "%s: Detail keys %s" % (label, sorted(d)))
        check(d.get("pipeline") == name and d.get("campaignArn") == CAMPAIGN and
              d.get("batchOutput") is None and
              re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$", d.get("fireTime") or ""),
              "%s: Detail %s" % (label, d))


def run_once(ctx, name, extra, overrides=None, script=None, faults=None):
    """`once` for one case; returns (rc, out + err, ledger, wall seconds, cfg, state)."""
    prtest.require_binaries()
    emu = ctx.emulator(overrides=overrides, script=script, faults=faults)
    state = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, campaign=True, extra=dict({"PipelineName": name}, **extra))
    t0 = time.monotonic()
    r = ctx.cli(cfg, state, "once", log_level=None)
    wall = time.monotonic() - t0
    return r.rc, r.out + r.err, emu.ledger_lines(), wall, cfg, state


def clean(ctx):
    try:
        clean_run(ctx)
    finally:
        clean_done.set()


def clean_run(ctx):
    label = "clean run"
    rc, err, led, wall, cfg, state = run_once(ctx, "evclean", {"EventBusName": "default"})
    clean_wall["s"] = wall
    check(rc == 0, "%s: exit %d, want 0\n%s" % (label, rc, err))
    evs = events_of(led)
    seq = sequence(evs)
    check(seq == ["started", "importing", "training", "deploying", "succeeded"],
          "%s: events %s" % (label, seq))
    check_entries(label, evs, "default", "evclean")
    version = [x for x in count(led, "CreateSolutionVersion") if x["status"] == 200][0]["resultArn"]
    end = evs[-1][2]
    check(end["stage"] == "deploying" and end["solutionVersionArn"] == version and
          end["reason"] is None and end["metrics"] is None and
          isinstance(end["durationSeconds"], (int, float)),
          "%s: end event %s (version %s)" % (label, end, version))
    check(evs[0][2]["outcome"] is None and evs[0][2]["solutionVersionArn"] is None,
          "%s: start event %s" % (label, evs[0][2]))
    check(not ("EventBusName" in err and "warning" in err),
          "%s: a warning about events:\n%s" % (label, err))
    # the events interleave with the run's calls: each after its stage began
    ops = [x["operation"] for x in sorted(led, key=lambda x: x["seq"])]
    check(ops.index("PutEvents") <= ops.index("CreateDatasetImportJob") + 1,
          "%s: the start event came late: %s" % (label, ops[:6]))
    r = ctx.cli(cfg, state, "policy", timeout=10, log_level=None)
    try:
        stmts = json.loads(r.out)["Statement"]
        st = [s for s in stmts if s.get("Action") == "events:PutEvents"]
    except (ValueError, KeyError) as e:
        raise prtest.Fail("%s: policy unusable (%s): %r" % (label, e, r))
    check(len(st) == 1 and st[0]["Resource"] ==
          "arn:aws:events:us-east-1:123456789012:event-bus/default",
          "%s: policy statements for events: %s" % (label, st))


def gated(ctx):
    label = "gated run"
    rc, err, led, _, _, _ = run_once(ctx, "evgated",
                                     {"EventBusName": "default", "QualityMetric": NDCG,
                                      "MaxRegression": "2%"},
                                     overrides=prtest.new_version_metrics({NDCG: 0.2}))
    check(rc == 1, "%s: exit %d, want 1\n%s" % (label, rc, err))
    evs = events_of(led)
    seq = sequence(evs)
    check(seq == ["started", "importing", "training", "gating", "gated"],
          "%s: events %s" % (label, seq))
    check_entries(label, evs, "default", "evgated")
    end = evs[-1][2]
    check(end["stage"] == "gating" and
          (end["reason"] or "").startswith("rejected by quality gate") and
          end["metrics"] == {NDCG: 0.2} and end["solutionVersionArn"],
          "%s: end event %s" % (label, end))


def failed(ctx):
    label = "failed run"
    rc, err, led, _, _, _ = run_once(ctx, "evfailed", {"EventBusName": "default"},
                                     script={"importFails": ["INTERACTIONS"]})
    check(rc != 0, "%s: exit 0, want a failure\n%s" % (label, err))
    evs = events_of(led)
    seq = sequence(evs)
    check(seq == ["started", "importing", "failed"], "%s: events %s" % (label, seq))
    check_entries(label, evs, "default", "evfailed")
    end = evs[-1][2]
    check(end["stage"] == "importing" and "import" in (end["reason"] or "") and
          end["solutionVersionArn"] is None, "%s: end event %s" % (label, end))


def put_failing(ctx):
    label = "PutEvents failing"
    rc, err, led, wall, _, _ = run_once(ctx, "evfault", {"EventBusName": BUS_ARN},
                                        faults=[{"operation": "PutEvents", "kind": "503"}])
    check(rc == 0, "%s: exit %d, want 0 (events never fail a run)\n%s" % (label, rc, err))
    check(len([x for x in count(led, "UpdateCampaign") if x["status"] == 200]) == 1,
          "%s: no UpdateCampaign" % label)
    evs = events_of(led)
    seq = [d["outcome"] or d["stage"] for _, _, d in evs]
    # each event 3 times, one after the other, in order
    want = [s for s in ["started", "importing", "training", "deploying", "succeeded"]
            for _ in range(3)]
    check(seq == want, "%s: PutEvents attempts %s, want %s" % (label, seq, want))
    check_entries(label, evs, BUS_ARN, "evfault", want_status=503)
    warnings = [l for l in err.splitlines() if "warning" in l and "EventBusName" in l]
    check(len(warnings) == 1 and "not sent" in warnings[0],
          "%s: want one warning about the events, got %s\n%s" % (label, warnings, err))
    clean_done.wait(60)
    bound = clean_wall.get("s", 5.0) + len(evs) // 3 * MAX_BACKOFF_PER_EVENT_S + 2.0
    check(wall <= bound, "%s: once took %.1f s, more than the clean run's %.1f s plus the "
          "backoff (%.1f s)" % (label, wall, clean_wall.get("s", -1), bound))
    ctx.log("%.1f s (clean run %.1f s)", wall, clean_wall.get("s", -1))


YEARLY = "cron(0 0 1 1 ? *)"
FLUSH_BOUND_S = 5.0   # DAEMON_EVENTS_FLUSH_USEC


def stop_with_events(ctx, delay_ms):
    """A `run` daemon whose run has just begun importing (CatchUp), with
    PutEvents taking delay_ms; SIGTERM once the imports are created.
    -> (daemon, emulator)."""
    prtest.require_commands("run")
    emu = ctx.emulator(durations={"importMs": 60000},
                       faults=[{"operation": "PutEvents", "kind": "slow",
                                "delayMs": delay_ms}])
    cfg = ctx.config(emu, datasets=1, schedule=YEARLY,
                     extra={"CatchUp": "yes", "EventBusName": "default"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    d = ctx.daemon(cfg, sd, name="run-events")

    def importing():
        st = prtest.read_state(sd)
        run = st and st.get("run")
        return bool(run and run.get("stage") == "importing" and
                    all(x.get("arn") for x in run.get("imports") or [{}]))
    prtest.wait_until(importing, prtest.RUN_TIMEOUT_S, "the imports created", 0.01)
    d.signal(signal.SIGTERM)
    return d, emu


def flush_on_stop(ctx):
    d, emu = stop_with_events(ctx, 700)
    t0 = time.monotonic()
    r = d.wait(prtest.STOP_TIMEOUT_S)
    dt = time.monotonic() - t0
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    check(dt <= FLUSH_BOUND_S + 1, "exited %.1f s after SIGTERM" % dt)
    check("sending the" in r.err and "queued EventBridge" in r.err,
          "the flush is not logged:\n%s" % prtest.tail(r.err))
    evs = events_of(emu.ledger_lines())
    seq = sequence(evs)
    check(seq[:2] == ["started", "importing"],
          "events after SIGTERM: %s, want started, importing" % seq)
    check(all(e["status"] == 200 for e, _, _ in evs), "PutEvents not all 200: %s"
          % [e["status"] for e, _, _ in evs])
    check("dropped" not in r.err, "events dropped:\n%s" % prtest.tail(r.err))


def flush_bounded(ctx):
    d, emu = stop_with_events(ctx, 30000)
    t0 = time.monotonic()
    r = d.wait(FLUSH_BOUND_S + prtest.STOP_TIMEOUT_S)
    dt = time.monotonic() - t0
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    check(FLUSH_BOUND_S - 0.5 <= dt <= FLUSH_BOUND_S + 2,
          "exited %.1f s after SIGTERM, want about %.0f s" % (dt, FLUSH_BOUND_S))
    check(re.search(r"warning: stopping: \d+ EventBridge event\(s\) not sent "
                    r"within 5 s; dropped", r.err),
          "no warning about the dropped events:\n%s" % prtest.tail(r.err))


def second_signal(ctx):
    d, emu = stop_with_events(ctx, 30000)
    time.sleep(0.5)
    check(d.alive(), "the daemon did not wait for its events")
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    r = d.wait(prtest.STOP_TIMEOUT_S)
    dt = time.monotonic() - t0
    check(r.rc == 0, "second SIGTERM: want exit 0\n%r" % r)
    check(dt <= 1.0, "exited %.2f s after the second SIGTERM" % dt)


def with_boto3(ctx):
    label = "boto3 PutEvents"
    try:
        import boto3
    except ImportError:
        ctx.log("note: python3 cannot import boto3: %s not checked", label)
        return
    prtest.require_binaries()
    emu = ctx.emulator()
    # a session of its own: the cases run in threads (boto3's shared
    # default session is not safe to make clients from at once)
    ev = boto3.session.Session().client("events", region_name="us-east-1",
                                        endpoint_url=emu.url, aws_access_key_id=AKID,
                                        aws_secret_access_key=SECRET)
    r = ev.put_events(Entries=[
        {"Source": "personalize-retrain", "DetailType": DETAIL_TYPE,
         "Detail": json.dumps({"stage": "started"}), "EventBusName": "default",
         "Resources": [SOLUTION]},
        {"Source": "personalize-retrain", "DetailType": DETAIL_TYPE}])
    check(r.get("FailedEntryCount") == 1 and "EventId" in r["Entries"][0] and
          r["Entries"][1].get("ErrorCode") == "InvalidArgument", "%s: reply %s" % (label, r))
    led = count(emu.ledger_lines(), "PutEvents")
    check(len(led) == 1 and led[0].get("signatureOk") and led[0]["status"] == 200,
          "%s: ledger %s" % (label, led))


if __name__ == "__main__":
    prtest.main([
        ("clean run", clean),
        ("gated run", gated),
        ("failed run", failed),
        ("PutEvents failing", put_failing),
        ("boto3 PutEvents", with_boto3),
        ("SIGTERM sends the queued events", flush_on_stop),
        ("SIGTERM: the flush is bounded", flush_bounded),
        ("SIGTERM twice: no flush", second_signal),
    ], parallel=8)
