#!/usr/bin/env python3
# run-tests: duration=40
"""daemon_giveup - a run that stops polling mid-training keeps its jobs.

A run gives up while its solution version trains at AWS: a refused
DescribeSolutionVersion (403 ExpiredTokenException, injected by the
emulator's "expired_token" fault) or, for `once`, malformed replies until
MaxConsecutiveErrors. The state keeps the run (its job ARNs and why it
stopped; `status` shows both). Then:
  - `run`: the next fire time adopts the kept run first (the version is
    deployed, nothing created beside it) and only then runs its own fire
    time, as a catch-up saying so; per fire time one import per dataset,
    one CreateSolutionVersion, one UpdateCampaign;
  - `once`: the next `once` resumes the kept run and finishes it: one
    import per dataset, one version, deployed, in the whole ledger;
  - a kept run found past its MaxRunDuration is not resumed: it is
    recorded as failed, a warning names its version ARN left at AWS, and
    `once` goes on with a run of its own.
Without the fix the run ended (`run: null`) and the next run imported and
trained beside the first version, which was never deployed."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

TRAINING_MS = 5000
EXPIRED = [{"operation": "DescribeSolutionVersion", "kind": "expired_token"}]


def version_arn_known(sd):
    st = prtest.read_state(sd)
    run = st and st.get("run")
    v = run and run.get("version")
    return v.get("arn") if v and v.get("arn") and run.get("stage") == "training" else None


def kept_run(sd, why):
    """The state's run in progress, kept with a reason containing why."""
    st = prtest.read_state(sd)
    run = st and st.get("run")
    return run if run and run.get("stage") != "done" and why in (run.get("reason") or "") \
        else None


def check_status_shows(ctx, cfg, sd, why):
    r = ctx.cli(cfg, sd, "status")
    check(r.rc == 0, "status: want exit 0\n%r" % r)
    check("stopped" in r.out and why in r.out and "training" in r.out,
          "status does not show the kept run and why it stopped (%s)\n%r" % (why, r))
    r = ctx.cli(cfg, sd, "status", "--json")
    check(r.rc == 0, "status --json: want exit 0\n%r" % r)
    doc = json.loads(r.out)
    pipes = doc["pipelines"] if isinstance(doc, dict) and "pipelines" in doc else doc
    p = pipes[0] if isinstance(pipes, list) else pipes
    check(p.get("run") and why in (p["run"].get("stopped_reason") or ""),
          "status --json: no stopped_reason with %s: %s" % (why, r.out))
    check(any(j.get("kind") == "version" and j.get("arn") for j in p.get("jobs", [])),
          "status --json does not list the kept version's ARN: %s" % r.out)


def run_adopts_at_next_fire(ctx):
    prtest.require_commands("run", "status")
    emu = ctx.emulator(durations={"trainingMs": TRAINING_MS})
    cfg = ctx.config(emu, schedule=prtest.EVERY_MINUTE, extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    # the catch-up run starts at once and gives up about 3 s later; the
    # daemon's clock starts at second 36, so that comes well before the next
    # minute's fire time, which is then 24 s away instead of up to a minute
    ctx.start_at_second(36)
    d = ctx.daemon(cfg, sd)
    v1 = prtest.wait_until(lambda: version_arn_known(sd), prtest.RUN_TIMEOUT_S,
                           "the first run to create its solution version", 0.02)
    emu.faults(EXPIRED)
    run = prtest.wait_until(lambda: kept_run(sd, "ExpiredToken"), 20,
                            "the run to stop polling and be kept", 0.05)
    check(d.alive(), "the daemon ended:\n%r" % d.result())
    check(run["version"]["arn"] == v1, "the kept run lost its version ARN: %s" % run)
    check(all(j.get("arn") for j in run["imports"]), "the kept run lost import ARNs: %s" % run)
    tag1 = prtest.tag_of_iso(run["fire_time"])
    check("stopped polling" in d.err(), "no log line says the run stopped polling\n%r"
          % d.result())
    check_status_shows(ctx, cfg, sd, "ExpiredToken")
    emu.faults([])
    n_kept = len(emu.ledger_lines())

    def both_done():
        hs = prtest.history_by_tag(sd)
        return len(hs) >= 2 and all(h["outcome"] == "succeeded" for h in hs.values()) \
            and not (prtest.read_state(sd) or {}).get("run")
    prtest.wait_until(both_done, 60 + prtest.RUN_TIMEOUT_S,
                      "the next fire time to adopt the kept run, then run its own", 0.1)
    d.signal(signal.SIGTERM)
    r = d.wait(prtest.STOP_TIMEOUT_S)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    led = prtest.Ledger(emu)
    per = led.per_fire()
    n_types = {t: 1 for t, _, _ in prtest.DATASETS}
    check(tag1 in per and per[tag1] == {"imports": n_types, "versions": 1, "updates": 1},
          "fire time %s: %s, want one import per dataset, one version, one update: %s"
          % (tag1, per.get(tag1), led.summary()))
    for tag, c in per.items():
        check(c["versions"] <= 1 and all(n == 1 for n in c["imports"].values()),
              "fire time %s: %s: a second job beside one: %s" % (tag, c, led.summary()))
    check(len(per) >= 2, "the fire time that found the kept run never ran: %s" % led.summary())
    # the first version was deployed, and only then anything new created
    ups = [e for e in led.updates() if e["params"].get("solutionVersionArn") == v1]
    check(len(ups) == 1, "the kept version %s was not deployed once: %s" % (v1, led.summary()))
    later = [e for e in led.lines[n_kept:] if e["operation"] in prtest.CREATE_OPS
             and e["operation"] != "UpdateCampaign"]
    check(later and min(e["seq"] for e in later) > ups[0]["seq"],
          "jobs were created before the kept version was deployed: %s" % led.summary())
    check(not any(e["operation"] in prtest.CREATE_OPS and tag1 in json.dumps(e["params"])
                  for e in led.lines[n_kept:] if e["operation"] != "UpdateCampaign"),
          "the kept run's jobs were created again: %s" % led.summary())
    err = r.err
    check("came while an earlier run that had stopped polling was adopted" in err,
          "no accurate catch-up message for the fire time behind the kept run\n%r" % r)
    check("passed while the daemon was down, behind the run it resumed" not in err,
          "the catch-up says the daemon was down, which it was not\n%r" % r)


def once_resumes_kept(ctx):
    prtest.require_commands("once", "status")
    emu = ctx.emulator(durations={"trainingMs": TRAINING_MS})
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    p = ctx.spawn(cfg, sd, "once")
    v1 = prtest.wait_until(lambda: version_arn_known(sd), prtest.RUN_TIMEOUT_S,
                           "`once` to create its solution version", 0.02)
    emu.faults([{"operation": "DescribeSolutionVersion", "kind": "malformed"}])
    r = p.wait(90)
    check(r.rc == 69, "once with malformed replies while training: want exit 69\n%r" % r)
    run = kept_run(sd, "unreachable")
    check(run and run["version"]["arn"] == v1,
          "the state does not keep the run with its version: %s" % prtest.read_state(sd))
    check_status_shows(ctx, cfg, sd, "unreachable")
    emu.faults([])
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "the next once: want exit 0 (the kept run finished)\n%r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    check(led.versions[0]["solutionVersionArn"] == v1, "not the kept version: %s" % led.summary())
    check(prtest.last_outcome(sd) == "succeeded", "state: %s" % prtest.read_state(sd))
    check(not prtest.read_state(sd).get("run"), "a run is still kept: %s" % prtest.read_state(sd))


def once_drops_past_deadline(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator(durations={"trainingMs": TRAINING_MS})
    cfg = ctx.config(emu, extra={"MaxRunDuration": "12"})
    sd = ctx.state_dir()
    t0 = time.time()
    p = ctx.spawn(cfg, sd, "once")
    v1 = prtest.wait_until(lambda: version_arn_known(sd), prtest.RUN_TIMEOUT_S,
                           "`once` to create its solution version", 0.02)
    emu.faults(EXPIRED)
    r = p.wait(30)
    check(r.rc == 1, "once with DescribeSolutionVersion refused: want exit 1\n%r" % r)
    check(kept_run(sd, "ExpiredToken"), "the run is not kept: %s" % prtest.read_state(sd))
    emu.faults([])
    time.sleep(max(0, t0 + 13 - time.time()))
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "the next once: want exit 0 (a run of its own)\n%r" % r)
    warn = [l for l in r.err.splitlines() if "left to itself at AWS" in l]
    check(warn and any(v1 in l for l in warn),
          "no warning names the version %s left at AWS\n%r" % (v1, r))
    st = prtest.read_state(sd)
    hist = st.get("history") or []
    dropped = [h for h in hist if "MaxRunDuration" in (h.get("reason") or "")]
    check(dropped and dropped[0]["outcome"] == "failed"
          and "stopped polling" in dropped[0]["reason"],
          "the dropped run is not in the history as failed, saying why: %s" % hist)
    check(hist[0]["outcome"] == "succeeded" and not st.get("run"),
          "the next once did not run to success: %s" % st)


CASES = [
    ("run: ExpiredToken while training, the next fire time adopts first", run_adopts_at_next_fire),
    ("once: unreachable while training, the next once resumes it", once_resumes_kept),
    ("once: a kept run past MaxRunDuration is dropped, named", once_drops_past_deadline),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=3)
