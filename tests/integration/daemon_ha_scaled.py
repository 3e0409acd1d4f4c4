#!/usr/bin/env python3
# run-tests: duration=50
"""daemon_ha_scaled - one pipeline run from two hosts through several fire
times, with random SIGKILLs and clock skew between the hosts,
on the test time scale.

Fire times are whole minutes (rate(1 minute) is the smallest schedule), so
without help each costs a real minute. Here the two `run` daemons and the
emulator run on the test-only time scale of include/wallclock.h
(PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE=N with a common
PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR): their schedule clock, run deadlines,
state timestamps and the emulator's creationDateTime run N times as fast,
so a minute passes in 60/N real seconds; SigV4 and poll delays stay real.
Host b's clock is also shifted by the test offset
(PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS, in schedule time), and b signs
with the temporary key so that the ledger tells the hosts apart.

Each case: both daemons start from fresh state directories (same config,
rate(1 minute), CatchUp=yes by default) just before a fire time, the one
whose clock is behind right after the other (and after a fire time of its
own that the other's clock has passed, with skew near a minute); the first
FIRE_TIMES fire times that both clocks reach after the start are watched; once per period a seeded random host is SIGKILLed at a
seeded random point and restarted after a seeded random pause (seed
printed; PRTEST_SEED changes it). Asserted, from the emulator's ledger and
world: for each watched fire time exactly one import per dataset, one
solution version and one executed UpdateCampaign; for any other fire time
seen (the leading host may start one more before the stop) at most one of
each; no bad signature. From both hosts' state files and `status --json`:
every watched fire time recorded by both, with the same outcome,
succeeded, and at least one of them says it followed the other; the
campaign serves the version of the last watched fire time.

A third case keeps one host down over a whole fire time (killed while the
first one trains, back after the other host deployed the next): the late
host must not deploy the older version (its resumed run ends as skipped,
superseded), then catches up with the fire time it missed by following
the other host's finished jobs."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check, Fail, pick_anchor  # noqa: E402

OFFSET_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS"
SCALE_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE"
ANCHOR_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR"
EVERY_MINUTE = "rate(1 minute)"
# A minute in 12 real seconds: a run (three imports, training, a 1.5 s
# campaign update, 1 s polls: about 5 s) plus a kill, a pause of up to
# 1.5 s and the resumption fit in one period, so no fire time comes while
# a host is still busy with the previous one (that one would be skipped
# as busy by that host only, and the hosts' records would differ).
SCALE = 5
PERIOD_S = 60.0 / SCALE
# three fire times (three kills) per case, two cases (seeds) per skew range
FIRE_TIMES = 3
# as in daemon_two_hosts.py: campaign updates long enough to be seen in flight
DURATIONS = {"campaignUpdateMs": 1500}
# real seconds between the daemons' start and the first fire time
LEAD_S = 1.5
PAUSE_S = (0.1, 1.5)
NAMES = ("a", "b")


tag = prtest.fire_tag
tag_of_iso = prtest.tag_of_iso
history = prtest.history_by_tag


class Clock:
    """The test time scale's arithmetic (include/wallclock.h), in the test."""

    def __init__(self, anchor, scale):
        self.anchor, self.scale = anchor, scale

    def scaled(self, real, offset_s=0.0):
        return self.anchor + (real - self.anchor) * self.scale + offset_s

    def real(self, scaled, offset_s=0.0):
        """When the clock with this offset reads scaled."""
        return self.anchor + (scaled - offset_s - self.anchor) / self.scale


def spawn_run(ctx, cfg, sd, env, name):
    """`run` on its own NOTIFY_SOCKET (p.notify)."""
    ns = ctx.notify_socket()
    p = ctx.spawn(cfg, sd, "run", env=dict(env, NOTIFY_SOCKET=ns.addr), name=name)
    p.notify = ns
    return p


def ready(p):
    try:
        p.notify.wait_for(lambda m: m.get("READY") == "1", prtest.START_TIMEOUT_S, "READY=1")
    except Fail as e:
        raise Fail("%s: %s\n%r" % (p.name, e, p.result()))


def run_case(ctx, skew_range, salt):
    prtest.require_commands("run", "status")
    rnd, seed = prtest.rng()
    seed += salt
    rnd.seed(seed)
    skew_s = rnd.uniform(*skew_range) * rnd.choice((1, -1))
    skew_ms = int(round(skew_s * 1000))
    skew_s = skew_ms / 1000.0
    t0 = time.time()
    anchor = pick_anchor(t0 + 1.0, SCALE, LEAD_S)
    clk = Clock(anchor, SCALE)
    scale_env = {SCALE_ENV: str(SCALE), ANCHOR_ENV: str(anchor)}
    emu = ctx.emulator(seed=seed & 0xffff, durations=DURATIONS, env_extra=scale_env)
    cfg = ctx.config(emu, schedule=EVERY_MINUTE)
    sds = [ctx.state_dir("host-" + n) for n in NAMES]
    offs = [0.0, skew_s]
    envs = [ctx.env(extra=scale_env),
            ctx.env(temporary=True, extra=dict(scale_env, **{OFFSET_ENV: str(skew_ms)}))]

    def start(i, k):
        return spawn_run(ctx, cfg, sds[i], envs[i], "run-%s-%d" % (NAMES[i], k))

    def next_fire(i, real):
        return (int(clk.scaled(real, offs[i])) // 60 + 1) * 60

    # The host whose clock is behind starts after the other one is up, and
    # after its own next fire time if it would reach one before the other
    # host's first: with skew near a minute, that run of its own would
    # overlap the other host's first run and, deployed after that run's
    # version was created, supersede it.
    lead = 0 if offs[0] >= offs[1] else 1
    lag = 1 - lead
    ds = [None, None]
    ds[lead] = start(lead, 0)
    ready(ds[lead])
    lead_up = time.time()
    early = next_fire(lag, lead_up)
    if early < next_fire(lead, lead_up):
        time.sleep(max(0.0, clk.real(early, offs[lag]) + 0.3 - time.time()))
    ds[lag] = start(lag, 0)
    ready(ds[lag])
    started = time.time()
    # the first fire time both clocks reach after both are up (a fresh
    # state: no catch-up at the first start), then the next ones
    first = max(next_fire(lead, lead_up), next_fire(lag, started))
    fires = [first + 60 * k for k in range(FIRE_TIMES)]
    tags = [tag(f) for f in fires]
    fire_real = [[clk.real(f, o) for o in offs] for f in fires]
    ctx.log("seed %d: scale %d (a minute in %.1fs), anchor %d, host b %+d ms; fire times %s "
            "(the first %.1fs after the start)", seed, SCALE, PERIOD_S, anchor, skew_ms,
            tags, min(fire_real[0]) - started)

    def alive():
        for i in range(2):
            if not ds[i].alive():
                raise Fail("host %s exited:\n%r" % (NAMES[i], ds[i].result()))

    restarts = [0, 0]
    kills = []
    # one kill per period, from the first fire time on: a seeded random
    # host at a seeded random point, restarted after a seeded random pause
    for k in range(FIRE_TIMES):
        # after both hosts took fire time k (a fresh state has nothing to
        # catch up: a host down over its first fire time would never run it)
        at = max(fire_real[k]) + 0.2 + rnd.uniform(0.0, PERIOD_S - 0.2)
        v = rnd.randrange(2)
        pause = rnd.uniform(*PAUSE_S)
        while time.time() < at:
            alive()
            time.sleep(min(0.05, max(0.0, at - time.time())))
        ds[v].kill9()
        kills.append("%s at %s%+.1fs (scaled %+.0fs), pause %.2fs" % (
            NAMES[v], tags[k], time.time() - fire_real[k][v],
            (time.time() - fire_real[k][v]) * SCALE, pause))
        time.sleep(pause)
        restarts[v] += 1
        ds[v] = start(v, restarts[v])
        ready(ds[v])
    ctx.log("kills: %s", "; ".join(kills))

    def done():
        alive()
        return all(all(t in history(sd) for t in tags) for sd in sds)
    last = max(fire_real[-1])
    prtest.wait_until(done, max(0.0, last - time.time()) + prtest.RUN_TIMEOUT_S,
                      "both hosts to finish %s" % tags, 0.1)
    for d in ds:
        d.signal(signal.SIGTERM)
    for i, d in enumerate(ds):
        r = d.wait(prtest.STOP_TIMEOUT_S)
        check(r.rc == 0, "host %s after SIGTERM: want exit 0\n%r" % (NAMES[i], r))

    # the leading host may have sent one more update before the stop: let
    # it end, so that the campaign serves what the last update deployed
    def settled():
        for c in emu.state()["campaigns"]:
            u = c.get("latestCampaignUpdate") or {}
            if "PENDING" in (u.get("status") or "") or "IN_PROGRESS" in (u.get("status") or ""):
                return False
        return True
    prtest.wait_until(settled, 10, "the last campaign update to end", 0.1)
    led = prtest.Ledger(emu)
    per = led.per_fire()
    s = led.summary()
    check(not led.unsigned(), "bad signatures: %s" % led.unsigned()[:3])
    all_imports = {d: 1 for d, _, _ in prtest.DATASETS}
    for ft, c in sorted(per.items()):
        check(all(n <= 1 for n in c["imports"].values()) and c["versions"] <= 1
              and c["updates"] <= 1, "fire time %s done twice: %s: %s" % (ft, c, s))
    for t in tags:
        c = per.get(t)
        check(c and c["imports"] == all_imports and c["versions"] == 1 and c["updates"] == 1,
              "fire time %s: %s, want one import per dataset, one version, one update: %s"
              % (t, c, s))
    hs = [history(sd) for sd in sds]
    docs = []
    for i in range(2):
        r = ctx.cli(cfg, sds[i], "status", "--json", env=envs[i], timeout=10)
        check(r.rc == 0, "host %s: status --json: want exit 0\n%r" % (NAMES[i], r))
        try:
            hist = json.loads(r.out)["pipelines"][0]["history"]
        except (ValueError, KeyError, IndexError) as e:
            raise Fail("host %s: status --json: %s\n%r" % (NAMES[i], e, r))
        docs.append({tag_of_iso(h["fire_time"]): h for h in hist if h.get("fire_time")})
    for t in tags:
        outs = [hs[i][t]["outcome"] for i in range(2)]
        check(outs == ["succeeded", "succeeded"],
              "fire time %s: outcomes a=%s b=%s, want both succeeded" % (t, outs[0], outs[1]))
        for i in range(2):
            h = docs[i].get(t)
            check(h and h.get("outcome") == outs[i] and
                  bool(h.get("followed")) == bool(hs[i][t].get("followed")),
                  "host %s, fire time %s: status --json says %s, the state file %s"
                  % (NAMES[i], t, h, hs[i][t]))
        check(any(h[t].get("followed") for h in hs),
              "fire time %s: neither host records that it followed the other" % t)
    # no host deployed an older fire time's version after a newer one
    newest = max(t for t, c in per.items() if c["updates"])
    check(newest >= tags[-1] and led.campaign["solutionVersionArn"] == next(
        (v["solutionVersionArn"] for v in led.versions if newest in (v.get("name") or "")),
        None), "the campaign does not serve the version of the newest fire time deployed, %s: "
        "it serves %s: %s" % (newest, led.version_name.get(led.campaign["solutionVersionArn"]), s))
    ctx.log("followers %s; also seen %s; rejected creates %d",
            " ".join("%s:%s" % (t[-4:], "".join(NAMES[i] for i in range(2)
                                               if hs[i][t].get("followed")))
                     for t in tags),
            sorted(set(per) - set(tags)), len(led.rejected()))


def run_late_host(ctx):
    """Host a is SIGKILLed while fire time F1 trains and stays down while b
    finishes F1 and deploys F2; then a comes back. It must not put F1's
    (older) version back on the campaign: its resumed F1 run ends as
    skipped (superseded), then it catches up with F2 by following b's jobs
    (found by name, done), and the ledger shows one update per fire time."""
    prtest.require_commands("run", "status")
    t0 = time.time()
    anchor = pick_anchor(t0 + 1.0, SCALE, LEAD_S)
    clk = Clock(anchor, SCALE)
    scale_env = {SCALE_ENV: str(SCALE), ANCHOR_ENV: str(anchor)}
    emu = ctx.emulator(durations=dict(DURATIONS, trainingMs=2500), env_extra=scale_env)
    cfg = ctx.config(emu, schedule=EVERY_MINUTE)
    sds = [ctx.state_dir("late-" + n) for n in NAMES]
    envs = [ctx.env(extra=scale_env), ctx.env(temporary=True, extra=scale_env)]

    def start(i, k):
        p = spawn_run(ctx, cfg, sds[i], envs[i], "late-%s-%d" % (NAMES[i], k))
        ready(p)
        return p

    ds = [start(0, 0), start(1, 0)]
    started = time.time()
    f1 = (int(clk.scaled(started)) // 60 + 1) * 60
    t1, t2 = tag(f1), tag(f1 + 60)

    def training():
        return any(t1 in (v.get("name") or "") for v in prtest.Ledger(emu).versions)
    prtest.wait_until(training, clk.real(f1) - time.time() + prtest.RUN_TIMEOUT_S,
                      "fire time %s to train" % t1, 0.05)
    ds[0].kill9()
    prtest.wait_until(lambda: history(sds[1]).get(t2) is not None,
                      clk.real(f1 + 60) - time.time() + prtest.RUN_TIMEOUT_S,
                      "host b to finish %s" % t2, 0.1)
    ctx.log("host a killed while %s trained, down until b finished %s; b: %s", t1, t2,
            {t: history(sds[1])[t]["outcome"] for t in (t1, t2)})
    ds[0] = start(0, 1)
    prtest.wait_until(lambda: all(t in history(sds[0]) for t in (t1, t2)),
                      prtest.RUN_TIMEOUT_S, "host a to record %s and %s" % (t1, t2), 0.1)
    for d in ds:
        d.signal(signal.SIGTERM)
    for d in ds:
        d.wait(prtest.STOP_TIMEOUT_S)
    led = prtest.Ledger(emu)
    per = led.per_fire()
    ha, hb = history(sds[0]), history(sds[1])
    for t in (t1, t2):
        c = per.get(t) or {}
        check(c.get("versions") == 1 and c.get("updates") == 1,
              "fire time %s: %s, want one version and one campaign update: %s"
              % (t, c, led.summary()))
        check(hb[t]["outcome"] == "succeeded", "host b, %s: %s" % (t, hb[t]))
    check(ha[t1]["outcome"] == "skipped" and "superseded" in ha[t1].get("reason", ""),
          "host a, %s (resumed after %s was deployed): %s, want skipped as superseded"
          % (t1, t2, ha[t1]))
    check(ha[t2]["outcome"] == "succeeded" and ha[t2].get("followed"),
          "host a, %s (caught up after its resumed run): %s, want succeeded, followed"
          % (t2, ha[t2]))
    newest = max(t for t, c in per.items() if c["updates"])
    served = led.version_name.get(led.campaign["solutionVersionArn"]) or ""
    check(newest in served, "the campaign serves %s, not the newest deployed (%s): %s"
          % (served, newest, led.summary()))
    ctx.log("host a: %s %s (%s), %s %s followed", t1, ha[t1]["outcome"],
            ha[t1].get("reason", "")[:60], t2, ha[t2]["outcome"])


def case(skew_range, salt):
    return lambda ctx: run_case(ctx, skew_range, salt)


CASES = [
    ("two hosts, 3 fire times, random kills, skew 0.1-5 s", case((0.1, 5.0), 0)),
    ("two hosts, 3 fire times, random kills, skew 0.1-5 s, another seed", case((0.1, 5.0), 3)),
    ("two hosts, 3 fire times, random kills, skew 30-59 s", case((30.0, 59.0), 7)),
    ("two hosts, 3 fire times, random kills, skew 30-59 s, another seed", case((30.0, 59.0), 11)),
    ("a host down over a whole fire time comes back late", run_late_host),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=len(CASES))
