#!/usr/bin/env python3
# run-tests: duration=35
"""daemon_two_hosts - one pipeline run from two hosts at once: two
processes with the same config and separate state directories against one
emulator, the Personalize API (job names from the pipeline and the fire
time) as the only coordination.

Fire times are whole minutes (plan.h: cron has minute resolution, rate() is
anchored at the epoch in whole minutes), so on the real clock "several fire
times" cost real minutes; daemon_ha_scaled.py runs five per case, with kills
and skew, on the test time scale (include/wallclock.h). What runs here:
  - two `once` started together (seeded random offsets; `once` runs "now
    truncated to the minute", so they are started within one minute), one
    of them SIGKILLed at a random point and restarted: both exit 0, one
    import per dataset, one version, one update; the host that lost the
    creates records that it followed another host, and `status` says so;
  - two `run` daemons on cron(* * * * ? *) with CatchUp=yes (so both run
    the current minute's fire time F0 at once at start) and then the next
    minute's F1 from their timers; twice in each run a seeded random host is
    SIGKILLed at a random point and restarted: every fire time completed once
    (one import per dataset, one version, one update per fire time), both
    hosts record every fire time as succeeded, and for each fire time one
    of them followed the other. PRTEST_SEED changes the random points.
Also (one host): a fire time that comes during a run is logged
and skipped, and recorded as the last fire time.
Clock skew between the hosts (100 ms to 60 s) is tested in
daemon_skew.py, through the daemon's test-only wall-clock offset."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Every case runs under the IAM policy `personalize-retrain policy` prints
# for its config, and fails on any denial (prtest.main).
os.environ.setdefault("PRTEST_POLICY", "1")
import prtest  # noqa: E402
from prtest import check, Fail  # noqa: E402

FOLLOWED_TEXT = "followed a run started by another host"
# UpdateCampaign carries no name: the loser can only see the winner's update
# while it is in flight (DescribeCampaign, then ResourceInUse). An update
# shorter than a host's DescribeCampaign -> UpdateCampaign gap (about 250 ms
# here) lets both hosts deploy the same version one after the other (found
# with 150 ms updates). Real updates take minutes: 1.5 s
# keeps the order of events realistic.
DURATIONS = {"campaignUpdateMs": 1500}


history = prtest.history_by_tag


def ledger_by_host(led):
    """The ledger's mutating calls and campaign reads, host by host (a signs
    with the long-term key, b with the temporary one), for a failure report."""
    host = {prtest.AKID: "a", prtest.TMP_AKID: "b"}
    out = []
    for e in led.lines:
        if e["operation"] in prtest.CREATE_OPS or e["operation"] == "DescribeCampaign":
            out.append("  %s %s %-22s status %s %s%s" % (
                e["time"][11:23], host.get(e.get("accessKeyId"), "?"), e["operation"],
                e.get("status"), e.get("error") or "",
                (" fault " + e["fault"]) if e.get("fault") else ""))
    return "\n".join(out)


def status_says_followed(ctx, cfg, sd):
    """`status` prints FOLLOWED_TEXT, and `status --json` marks the latest
    run followed."""
    r = ctx.cli(cfg, sd, "status", timeout=10)
    check(r.rc == 0, "status: want exit 0\n%r" % r)
    rj = ctx.cli(cfg, sd, "status", "--json", timeout=10)
    check(rj.rc == 0, "status --json: want exit 0\n%r" % rj)
    try:
        doc = json.loads(rj.out)
        hist = doc["pipelines"][0]["history"]
    except (ValueError, KeyError, IndexError) as e:
        raise Fail("status --json: %s\n%r" % (e, rj))
    check(any(h.get("followed") for h in hist),
          "status --json: no run marked followed: %s" % hist)
    return FOLLOWED_TEXT in r.out


def two_once(k):
    return lambda ctx: two_once_case(ctx, k)


def two_once_case(ctx, k):
    prtest.require_commands("once", "status")
    rnd, seed = prtest.rng()
    seed += 100 * k
    rnd.seed(seed)
    emu = ctx.emulator(seed=seed & 0xffff, durations=DURATIONS)
    cfg = ctx.config(emu)
    sds = [ctx.state_dir("host-a"), ctx.state_dir("host-b")]
    victim = rnd.randrange(2)
    kill_after = rnd.uniform(0.05, 2.5)
    offset = rnd.uniform(0, 0.3)
    ctx.log("seed %d: host %s killed %.2fs after start, host b starts %.2fs after a",
            seed, "ab"[victim], kill_after, offset)
    ctx.second_below(50)
    t0 = time.monotonic()
    # host b signs with the temporary key: the ledger tells the hosts apart
    envs = [ctx.env(), ctx.env(temporary=True)]
    procs = [ctx.spawn(cfg, sds[0], "once", name="once-a", env=envs[0])]
    time.sleep(offset)
    procs.append(ctx.spawn(cfg, sds[1], "once", name="once-b", env=envs[1]))
    time.sleep(max(0, t0 + kill_after - time.monotonic()))
    if procs[victim].alive():
        procs[victim].kill9()
        ctx.log("killed host %s", "ab"[victim])
        time.sleep(rnd.uniform(0.1, 1.0))
        procs[victim] = ctx.spawn(cfg, sds[victim], "once", name="once-%s-again" % "ab"[victim],
                                  env=envs[victim])
    for p in procs:
        r = p.wait(prtest.RUN_TIMEOUT_S)
        check(r.rc == 0, "%s: want exit 0\n%r" % (p.name, r))
    led = prtest.Ledger(emu)
    try:
        led.assert_one_run(rejected_ok=True)
    except Fail as e:
        raise Fail("%s\n%s" % (e, ledger_by_host(led)))
    tag = next(iter(led.fire_tags()))
    hs = [history(sd) for sd in sds]
    for i, h in enumerate(hs):
        check(tag in h and h[tag]["outcome"] == "succeeded",
              "host %s does not record fire time %s as succeeded: %s" % ("ab"[i], tag, h))
    followed = [bool(h[tag].get("followed")) for h in hs]
    check(any(followed), "neither host records that it followed the other: %s" % hs)
    for i, f in enumerate(followed):
        if f:
            check(status_says_followed(ctx, cfg, sds[i]),
                  "status of host %s lacks '%s'" % ("ab"[i], FOLLOWED_TEXT))
    ctx.log("followed: a=%s b=%s; rejected creates: %d", followed[0], followed[1],
            len(led.rejected()))


def two_daemons(ctx):
    prtest.require_commands("run", "status")
    rnd, seed = prtest.rng()
    rnd.seed(seed + 1)
    emu = ctx.emulator(seed=(seed + 1) & 0xffff, durations=DURATIONS)
    cfg = ctx.config(emu, schedule=prtest.EVERY_MINUTE, extra={"CatchUp": "yes"})
    names = ["a", "b"]
    sds = [ctx.state_dir("host-" + n) for n in names]
    for sd in sds:
        prtest.seed_catchup_state(sd)
    # F0 (catch-up) must end before the minute does, so that F1 is a
    # separate run: start 25 s before the minute ends (the clocks are set
    # back to read second 35 now, rather than waiting for a minute).
    ctx.start_at_second(35)
    f0 = int(ctx.now()) // 60 * 60
    f1 = f0 + 60
    tags = [time.strftime("%Y%m%dT%H%M", time.gmtime(f)) for f in (f0, f1)]
    ds = [None, None]
    offset = rnd.uniform(0, 0.5)
    ds[0] = ctx.daemon(cfg, sds[0], name="run-a-0")
    time.sleep(offset)
    ds[1] = ctx.daemon(cfg, sds[1], name="run-b-0")
    restarts = [0, 0]

    def kill_restart(at_mono):
        v = rnd.randrange(2)
        time.sleep(max(0, at_mono - time.monotonic()))
        ds[v].kill9()
        pause = rnd.uniform(0.1, 1.5)
        ctx.log("killed host %s at %.2fs past the minute, restart after %.2fs",
                names[v], ctx.now() % 60, pause)
        time.sleep(pause)
        restarts[v] += 1
        ds[v] = ctx.daemon(cfg, sds[v], name="run-%s-%d" % (names[v], restarts[v]))

    def all_done(tag):
        for i in range(2):
            if not ds[i].alive():
                raise Fail("host %s exited:\n%r" % (names[i], ds[i].result()))
        return all(tag in history(sd) for sd in sds)

    # F0: two kills somewhere in the catch-up run
    kill_restart(time.monotonic() + rnd.uniform(0.1, 2.0))
    kill_restart(time.monotonic() + rnd.uniform(0.2, 2.5))
    prtest.wait_until(lambda: all_done(tags[0]), prtest.RUN_TIMEOUT_S,
                      "both hosts to finish fire time %s" % tags[0], 0.1)
    check(ctx.now() < f1, "fire time %s ended after the next minute began: "
          "F1 would be skipped as busy" % tags[0])
    # F1: from the daemons' own timers; two kills somewhere in that run
    kill_restart(time.monotonic() + (f1 - ctx.now()) + rnd.uniform(0.0, 2.0))
    kill_restart(time.monotonic() + rnd.uniform(0.2, 2.5))
    prtest.wait_until(lambda: all_done(tags[1]), 60 + prtest.RUN_TIMEOUT_S,
                      "both hosts to finish fire time %s" % tags[1], 0.1)
    for i in range(2):
        ds[i].signal(signal.SIGTERM)
    for i in range(2):
        r = ds[i].wait(prtest.STOP_TIMEOUT_S)
        check(r.rc == 0, "host %s after SIGTERM: want exit 0\n%r" % (names[i], r))
    led = prtest.Ledger(emu)
    per = led.per_fire()
    check(sorted(per) == sorted(tags), "jobs for fire times %s, want exactly %s: %s"
          % (sorted(per), tags, led.summary()))
    for t in tags:
        c = per[t]
        check(c["imports"] == {d: 1 for d, _, _ in prtest.DATASETS} and c["versions"] == 1
              and c["updates"] == 1, "fire time %s: %s, want one import per dataset, one "
              "version, one update: %s" % (t, c, led.summary()))
    check(not led.unsigned(), "bad signatures")
    hs = [history(sd) for sd in sds]
    for t in tags:
        for i in range(2):
            check(t in hs[i] and hs[i][t]["outcome"] == "succeeded",
                  "host %s: fire time %s not recorded as succeeded: %s" % (names[i], t, hs[i]))
        check(any(h[t].get("followed") for h in hs),
              "fire time %s: neither host records that it followed the other" % t)
    check(led.campaign["solutionVersionArn"] == next(
        v["solutionVersionArn"] for v in led.versions if tags[1] in v["name"]),
        "the campaign does not serve the version of the last fire time")
    fol = [i for i in range(2) if any(h.get("followed") for h in hs[i].values())]
    for i in fol:
        check(status_says_followed(ctx, cfg, sds[i]),
              "status of host %s lacks '%s'" % (names[i], FOLLOWED_TEXT))
    ctx.log("fire times %s; followers per fire time %s; rejected creates %d", tags,
            {t: [names[i] for i in range(2) if hs[i][t].get("followed")] for t in tags},
            len(led.rejected()))


def overlap(ctx):
    """No overlap: a fire time that comes while a run is in progress is
    logged and skipped (one host; a run started at second 45-50 by catch-up
    whose import takes 15 s spans the next minute's fire time)."""
    prtest.require_commands("run")
    emu = ctx.emulator(durations={"importMs": 15000})
    cfg = ctx.config(emu, schedule=prtest.EVERY_MINUTE, extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    f0 = int(ctx.start_at_second(45)) // 60 * 60
    tags = [time.strftime("%Y%m%dT%H%M", time.gmtime(f)) for f in (f0, f0 + 60)]
    d = ctx.daemon(cfg, sd)
    prtest.wait_until(lambda: prtest.run_finished(prtest.read_state(sd)) or not d.alive(),
                      prtest.RUN_TIMEOUT_S, "the run to finish", 0.1)
    check(ctx.now() > f0 + 60 + 1, "the run ended before the next fire time: nothing overlapped")
    d.signal(signal.SIGTERM)
    r = d.wait(prtest.STOP_TIMEOUT_S)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    led = prtest.Ledger(emu)
    check(led.fire_tags() == {tags[0]}, "jobs for fire times %s, want only %s: %s"
          % (sorted(led.fire_tags()), tags[0], led.summary()))
    led.assert_one_run()
    iso1 = time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(f0 + 60))
    lines = [l for l in r.err.splitlines() if "skipped" in l and iso1 in l]
    check(lines, "no log line says fire time %s was skipped\n%r" % (iso1, r))
    st = prtest.read_state(sd)
    check(st.get("last_fire") == iso1, "the skipped fire time is not recorded as last_fire: %s"
          % st.get("last_fire"))


CASES = [("two run daemons, two fire times, random kills", two_daemons),
         ("no overlap: a fire time during a run is skipped", overlap)] + [
    ("two once, same fire time, one killed (seed +%d)" % (100 * k), two_once(k))
    for k in range(3)]

if __name__ == "__main__":
    prtest.main(CASES, parallel=4)
