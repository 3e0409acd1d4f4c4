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
- boto3's own events client (when python3 can import boto3) against the
  emulator: its signature is accepted, a good entry gets an EventId, an
  entry without Detail fails alone with InvalidArgument.
"""
import json
import os
import re
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_harness import Emulator, install_signal_cleanup  # noqa: E402
from daemon_once import ACCOUNT, binary, cli, count, write_config  # noqa: E402
from daemon_gate import NDCG, WORLD, world_with  # noqa: E402

SOLUTION = ACCOUNT + ":solution/my-solution"
CAMPAIGN = ACCOUNT + ":campaign/my-campaign"
BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/retraining"
DETAIL_TYPE = "Personalize Retraining Run State Change"
DETAIL_KEYS = {"pipeline", "fireTime", "stage", "outcome", "solutionVersionArn",
               "campaignArn", "batchOutput", "durationSeconds", "reason", "metrics"}
# the standard retry mode: 3 attempts, delays random[0,1) * 1 s, * 2 s
MAX_BACKOFF_PER_EVENT_S = 3.0

failures = []
clean_wall = {}
lock = threading.Lock()


def fail(msg):
    with lock:
        failures.append(msg)
    print("FAIL: " + msg, flush=True)


def events_of(led):
    """(ledger entry, its one PutEvents entry, the parsed Detail) in order."""
    out = []
    for e in sorted(count(led, "PutEvents"), key=lambda x: x["seq"]):
        entries = (e.get("params") or {}).get("Entries") or []
        if len(entries) != 1:
            fail("PutEvents with %d entries, want 1: %s" % (len(entries), e.get("params")))
            continue
        try:
            detail = json.loads(entries[0]["Detail"])
        except (KeyError, ValueError) as ex:
            fail("PutEvents Detail unreadable (%s): %s" % (ex, entries[0]))
            continue
        out.append((e, entries[0], detail))
    return out


def sequence(evs):
    return [d["outcome"] or d["stage"] for _, _, d in evs]


def check_entries(label, evs, bus, name, want_status=200):
    for e, entry, d in evs:
        if e["status"] != want_status or not e.get("signatureOk"):
            fail("%s: PutEvents status %s signature %s" % (label, e["status"], e.get("signatureOk")))
        if entry.get("Source") != "personalize-retrain" or \
                entry.get("DetailType") != DETAIL_TYPE or entry.get("EventBusName") != bus:
            fail("%s: entry %s" % (label, {k: v for k, v in entry.items() if k != "Detail"}))
        if entry.get("Resources") != [SOLUTION, CAMPAIGN]:
            fail("%s: Resources %s" % (label, entry.get("Resources")))
        if set(d) != DETAIL_KEYS:
            fail("%s: Detail keys %s" % (label, sorted(d)))
        if d.get("pipeline") != name or d.get("campaignArn") != CAMPAIGN or \
                d.get("batchOutput") is not None or \
                not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$", d.get("fireTime") or ""):
            fail("%s: Detail %s" % (label, d))


def run_once(label, name, extra, overrides=None, script=None, faults=None):
    """`once` for one case; returns (rc, err, ledger, wall seconds, cfg, state)."""
    tmp = tempfile.mkdtemp(prefix="pr-events-")
    with Emulator(world=WORLD, overrides=overrides) as emu:
        if script:
            st, body = emu.admin("POST", "script", script)
            assert st == 200, body
        if faults:
            st, body = emu.admin("POST", "faults", {"rules": faults})
            assert st == 200, body
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, 1, True, name, extra=extra)
        t0 = time.monotonic()
        rc, out, err = cli(cfg, state, "once")
        wall = time.monotonic() - t0
        return rc, out + err, emu.ledger(), wall, cfg, state


def clean():
    label = "clean run"
    rc, err, led, wall, cfg, state = run_once(label, "evclean", ["EventBusName=default"])
    clean_wall["s"] = wall
    if rc != 0:
        fail("%s: exit %d, want 0\n%s" % (label, rc, err))
        return
    evs = events_of(led)
    seq = sequence(evs)
    if seq != ["started", "importing", "training", "deploying", "succeeded"]:
        fail("%s: events %s" % (label, seq))
        return
    check_entries(label, evs, "default", "evclean")
    version = [x for x in count(led, "CreateSolutionVersion") if x["status"] == 200][0]["resultArn"]
    end = evs[-1][2]
    if end["stage"] != "deploying" or end["solutionVersionArn"] != version or \
            end["reason"] is not None or end["metrics"] is not None or \
            not isinstance(end["durationSeconds"], (int, float)):
        fail("%s: end event %s (version %s)" % (label, end, version))
    if evs[0][2]["outcome"] is not None or evs[0][2]["solutionVersionArn"] is not None:
        fail("%s: start event %s" % (label, evs[0][2]))
    if "EventBusName" in err and "warning" in err:
        fail("%s: a warning about events:\n%s" % (label, err))
    # the events interleave with the run's calls: each after its stage began
    ops = [x["operation"] for x in sorted(led, key=lambda x: x["seq"])]
    if ops.index("PutEvents") > ops.index("CreateDatasetImportJob") + 1:
        fail("%s: the start event came late: %s" % (label, ops[:6]))
    rc, out, err = cli(cfg, state, "policy", timeout=10)
    try:
        stmts = json.loads(out)["Statement"]
        st = [s for s in stmts if s.get("Action") == "events:PutEvents"]
        if len(st) != 1 or st[0]["Resource"] != \
                "arn:aws:events:us-east-1:123456789012:event-bus/default":
            fail("%s: policy statements for events: %s" % (label, st))
    except (ValueError, KeyError) as e:
        fail("%s: policy unusable (%s): %s %s" % (label, e, out[:300], err))


def gated():
    label = "gated run"
    rc, err, led, _, _, _ = run_once(label, "evgated",
                                     ["EventBusName=default", "QualityMetric=" + NDCG,
                                      "MaxRegression=2%"],
                                     overrides=world_with({NDCG: 0.2}))
    if rc != 1:
        fail("%s: exit %d, want 1\n%s" % (label, rc, err))
        return
    evs = events_of(led)
    seq = sequence(evs)
    if seq != ["started", "importing", "training", "gating", "gated"]:
        fail("%s: events %s" % (label, seq))
        return
    check_entries(label, evs, "default", "evgated")
    end = evs[-1][2]
    if end["stage"] != "gating" or not (end["reason"] or "").startswith("rejected by quality gate") \
            or end["metrics"] != {NDCG: 0.2} or not end["solutionVersionArn"]:
        fail("%s: end event %s" % (label, end))


def failed():
    label = "failed run"
    rc, err, led, _, _, _ = run_once(label, "evfailed", ["EventBusName=default"],
                                     script={"importFails": ["USERS"]})
    if rc == 0:
        fail("%s: exit 0, want a failure\n%s" % (label, err))
        return
    evs = events_of(led)
    seq = sequence(evs)
    if seq != ["started", "importing", "failed"]:
        fail("%s: events %s" % (label, seq))
        return
    check_entries(label, evs, "default", "evfailed")
    end = evs[-1][2]
    if end["stage"] != "importing" or "import" not in (end["reason"] or "") or \
            end["solutionVersionArn"] is not None:
        fail("%s: end event %s" % (label, end))


def put_failing(done):
    label = "PutEvents failing"
    rc, err, led, wall, _, _ = run_once(label, "evfault", ["EventBusName=" + BUS_ARN],
                                        faults=[{"operation": "PutEvents", "kind": "503"}])
    if rc != 0:
        fail("%s: exit %d, want 0 (events never fail a run)\n%s" % (label, rc, err))
        return
    if len([x for x in count(led, "UpdateCampaign") if x["status"] == 200]) != 1:
        fail("%s: no UpdateCampaign" % label)
    evs = events_of(led)
    seq = [d["outcome"] or d["stage"] for _, _, d in evs]
    # each event 3 times, one after the other, in order
    want = [s for s in ["started", "importing", "training", "deploying", "succeeded"]
            for _ in range(3)]
    if seq != want:
        fail("%s: PutEvents attempts %s, want %s" % (label, seq, want))
    check_entries(label, evs, BUS_ARN, "evfault", want_status=503)
    warnings = [l for l in err.splitlines() if "warning" in l and "EventBusName" in l]
    if len(warnings) != 1 or "not sent" not in warnings[0]:
        fail("%s: want one warning about the events, got %s\n%s" % (label, warnings, err))
    done.wait(60)
    bound = clean_wall.get("s", 5.0) + len(evs) // 3 * MAX_BACKOFF_PER_EVENT_S + 2.0
    if wall > bound:
        fail("%s: once took %.1f s, more than the clean run's %.1f s plus the backoff (%.1f s)"
             % (label, wall, clean_wall.get("s", -1), bound))
    print("%s: %.1f s (clean run %.1f s)" % (label, wall, clean_wall.get("s", -1)), flush=True)


def with_boto3():
    label = "boto3 PutEvents"
    try:
        import boto3
    except ImportError:
        print("note: python3 cannot import boto3: %s not checked" % label, flush=True)
        return
    from emulator_harness import AKID, SECRET
    with Emulator(world=WORLD) as emu:
        ev = boto3.client("events", region_name="us-east-1", endpoint_url=emu.url,
                          aws_access_key_id=AKID, aws_secret_access_key=SECRET)
        r = ev.put_events(Entries=[
            {"Source": "personalize-retrain", "DetailType": DETAIL_TYPE,
             "Detail": json.dumps({"stage": "started"}), "EventBusName": "default",
             "Resources": [SOLUTION]},
            {"Source": "personalize-retrain", "DetailType": DETAIL_TYPE}])
        if r.get("FailedEntryCount") != 1 or "EventId" not in r["Entries"][0] or \
                r["Entries"][1].get("ErrorCode") != "InvalidArgument":
            fail("%s: reply %s" % (label, r))
        led = count(emu.ledger(), "PutEvents")
        if len(led) != 1 or not led[0].get("signatureOk") or led[0]["status"] != 200:
            fail("%s: ledger %s" % (label, led))


def main():
    install_signal_cleanup()
    if not os.path.exists(binary()):
        print("no %s: build first" % binary())
        return 1
    clean_done = threading.Event()

    def clean_then_flag():
        try:
            clean()
        finally:
            clean_done.set()

    def guarded(fn, *args):
        def run():
            try:
                fn(*args)
            except Exception as e:  # a broken case is a failure, not a pass
                fail("%s: %r" % (fn.__name__, e))
        return threading.Thread(target=run)

    threads = [guarded(clean_then_flag), guarded(gated), guarded(failed),
               guarded(put_failing, clean_done), guarded(with_boto3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("daemon EventBusName events: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
