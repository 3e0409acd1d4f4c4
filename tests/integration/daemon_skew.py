#!/usr/bin/env python3
# run-tests: duration=50
"""daemon_skew - one pipeline run from two hosts whose clocks disagree
(skew up to a minute must not split a fire time).

Two `run` daemons on rate(1 minute) with the same config and separate state
directories against one emulator; host a's clock is the system's, host b's
is shifted by the test hook PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS
(include/wallclock.h: every wall-clock reading, every realtime timer and
SigV4's request time of that process, as on a skewed host). Host b signs
with the temporary key, so the ledger tells the hosts apart.

Each case picks its start second so that both clocks put the same next fire
time T ahead of them; b wakes for T at a's time T - skew, a at T. Rather
than waiting for that second, both clocks are set back (by less than a
minute, prtest's Ctx.start_at_second) so that a's clock reads it at once;
the case measures time on a's clock. With
|skew| <= 30 s both also start with CatchUp=yes after a seeded missed fire
time, so both catch up the same earlier fire time F0 at once (the start is
early enough that F0 ends before either timer fires). With 59 s the two
clocks share a minute for one second only, so those cases start from a
fresh state (no catch-up) and test T alone; since the hosts reach T 59 s
apart however they start, those two run on the test time scale
(PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE=2, the emulator on the same clock),
each host started inside its own minute before T.
Asserted from the emulator's ledger and the two state files: for every fire
time seen, at most one import per dataset, one version, one update; for F0
and T exactly one each, both hosts record each as succeeded (the same
outcome) and one of them followed the other; no bad signatures.
Beyond the documented minute (+90 s): only "no crash, clean exit" is
asserted; what happened is printed."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check, Fail  # noqa: E402

OFFSET_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS"
EVERY_MINUTE = "rate(1 minute)"
# as in daemon_two_hosts.py: campaign updates long enough to be seen in flight
DURATIONS = {"campaignUpdateMs": 1500}
# a catch-up run ends well within this (emulator defaults, poll 1 s)
RUN_BUDGET_S = 15
NAMES = ("a", "b")
# With 59 s of skew the hosts reach T 59 s apart, whatever the start: those
# cases run on the test time scale (include/wallclock.h; the emulator dates
# its resources by the same clock), twice as fast, and start each host
# inside its own minute before T rather than both in the one second their
# minutes share.
WIDE_SCALE = 2
WIDE_LEAD_S = 5.0   # on that clock, from the first start to the first fire


tag = prtest.fire_tag
history = prtest.history_by_tag


def start_second(skew_s, catch_up):
    """The second of the minute at which to start both daemons so that both
    clocks are in the same minute M and the next fire time is T = M + 60
    for both; with catch_up, early enough that F0 = M ends before the first
    timer (b's at T - skew for skew > 0, a's at T otherwise); as late as
    that allows, so that T comes soon."""
    budget = RUN_BUDGET_S if catch_up else 0.9
    if skew_s > 0:
        # b's clock (x + skew) must stay below 60
        return max(0.1, 60 - skew_s - budget)
    # b's clock (x - |skew|) must be at or past 0
    return max(-skew_s + 0.1, 60 - budget)


def spawn_host(ctx, cfg, sd, i, skew_ms):
    """`run` for host a (i 0, on the case's clock) or b (i 1, skew_ms ahead
    of it, signing with the temporary key), each with its own notify
    socket; READY=1 is not awaited."""
    if i == 0:
        return ctx.daemon(cfg, sd, name="run-a", wait_ready=False)
    env = ctx.env(temporary=True, extra={OFFSET_ENV: str(ctx.clock_offset_ms + skew_ms)})
    ns = ctx.notify_socket()
    env["NOTIFY_SOCKET"] = ns.addr
    p = ctx.spawn(cfg, sd, "run", env=env, name="run-b")
    p.notify = ns
    return p


def start_together(ctx, cfg, sds, skew_s, skew_ms, catch_up, beyond):
    """Both hosts at once, at the second start_second() picks. -> (hosts,
    the start on a's clock, T)."""
    t0 = ctx.start_at_second(start_second(skew_s, catch_up) if not beyond else 20)
    # both at once: with 59 s of skew the clocks share a minute for one
    # second only, and each daemon reads its clock before it sends READY=1
    ds = [spawn_host(ctx, cfg, sds[i], i, skew_ms) for i in range(2)]
    return ds, t0, int(t0) // 60 * 60 + 60


def start_staggered(ctx, cfg, sds, skew_s, skew_ms):
    """The 59 s cases, on the doubled clock: the host whose clock is ahead
    starts WIDE_LEAD_S before its clock reaches T, the other just after its
    own clock has entered T's minute (half a second before the first one
    fires). -> (hosts, the start on a's clock, T)."""
    ahead = max(skew_s, 0)   # a's clock when the first host reaches T: T - ahead
    t0 = ctx.start_at_second((60 - ahead - WIDE_LEAD_S) % 60)
    t = int(round((t0 + ahead + WIDE_LEAD_S) / 60)) * 60
    first = 1 if skew_s > 0 else 0
    ds = [None, None]
    ds[first] = spawn_host(ctx, cfg, sds[first], first, skew_ms)
    ds[first].notify.wait_for(lambda msg: msg.get("READY") == "1", prtest.START_TIMEOUT_S,
                              "READY=1 of host %s" % NAMES[first])
    if ctx.now() >= t - ahead:
        raise prtest.Skip("host %s was ready %.2fs after its clock reached %s (loaded "
                          "machine); no verdict" % (NAMES[first], ctx.now() - (t - ahead), tag(t)))
    time.sleep(max(0.0, ctx.real(t - ahead - 0.5 - ctx.now())))
    ds[1 - first] = spawn_host(ctx, cfg, sds[1 - first], 1 - first, skew_ms)
    return ds, t0, t


def run_case(ctx, skew_ms, catch_up, beyond=False):
    prtest.require_commands("run")
    skew_s = skew_ms / 1000.0
    staggered = abs(skew_s) >= 59 and not catch_up and not beyond
    scaled = ctx.scale_clock(WIDE_SCALE) if staggered else None
    emu = ctx.emulator(seed=(abs(skew_ms) // 100) & 0xffff, durations=DURATIONS,
                       env_extra=scaled)
    extra = {"CatchUp": "yes"} if catch_up else None
    cfg = ctx.config(emu, schedule=EVERY_MINUTE, extra=extra)
    sds = [ctx.state_dir("host-" + n) for n in NAMES]
    if catch_up:
        for sd in sds:
            prtest.seed_catchup_state(sd)
    if staggered:
        ds, t0, t = start_staggered(ctx, cfg, sds, skew_s, skew_ms)
    else:
        ds, t0, t = start_together(ctx, cfg, sds, skew_s, skew_ms, catch_up, beyond)
    f0 = t - 60
    for i in range(2):
        try:
            ds[i].notify.wait_for(lambda msg: msg.get("READY") == "1", prtest.START_TIMEOUT_S,
                                  "READY=1")
        except Fail as e:
            raise Fail("host %s: %s\n%r" % (NAMES[i], e, ds[i].result()))
    ready = ctx.now()
    # the first host to reach T must have read its clock before that
    # (staggered: the later one starts inside its own minute before T)
    window_end = t - max(skew_s, 0) if not staggered else t - max(skew_s, 0) + 59
    if not beyond and ready >= window_end:
        raise prtest.Skip("the daemons were ready %.2fs after the start window closed "
                          "(loaded machine): their clocks may not share fire time %s; "
                          "no verdict" % (ready - window_end, tag(t)))
    ctx.log("skew %+d ms: started at second %.2f (both ready at %.2f), F0 %s, T %s%s", skew_ms,
            t0 % 60, ready % 60, tag(f0) if catch_up else "-", tag(t),
            ", clock x%d, hosts started apart" % WIDE_SCALE if staggered else "")

    def alive():
        for i in range(2):
            if not ds[i].alive():
                raise Fail("host %s exited:\n%r" % (NAMES[i], ds[i].result()))

    if beyond:
        # b's clock is 90 s ahead: it is past T at start, so it next fires
        # T + 60 (at system time T - 30); a fires T. Watch until a finished T.
        def done():
            alive()
            return tag(t) in history(sds[0])
        prtest.wait_until(done, ctx.real(t - ctx.now()) + prtest.RUN_TIMEOUT_S,
                          "host a to finish %s" % tag(t), 0.2)
    else:
        want = [tag(f0), tag(t)] if catch_up else [tag(t)]

        def done():
            alive()
            return all(all(w in history(sd) for w in want) for sd in sds)
        last = max(t, t - skew_s)
        prtest.wait_until(done, ctx.real(last - ctx.now()) + prtest.RUN_TIMEOUT_S,
                          "both hosts to finish %s" % want, 0.2)
    for d in ds:
        d.signal(signal.SIGTERM)
    for i, d in enumerate(ds):
        r = d.wait(prtest.STOP_TIMEOUT_S)
        check(r.rc == 0, "host %s after SIGTERM: want exit 0\n%r" % (NAMES[i], r))
    led = prtest.Ledger(emu)
    per = led.per_fire()
    hs = [history(sd) for sd in sds]
    check(not led.unsigned(), "bad signatures (the emulator allows 5 min of skew): %s"
          % led.unsigned()[:3])
    if beyond:
        ctx.log("beyond the minute: jobs per fire time %s", per)
        for i in range(2):
            ctx.log("host %s history: %s", NAMES[i],
                    {k: (h["outcome"], bool(h.get("followed"))) for k, h in sorted(hs[i].items())})
        ctx.log("campaign serves %s", led.version_name.get(led.campaign["solutionVersionArn"],
                                                         led.campaign["solutionVersionArn"]))
        return
    all_imports = {d: 1 for d, _, _ in prtest.DATASETS}
    for ft, c in per.items():
        check(all(n <= 1 for n in c["imports"].values()) and c["versions"] <= 1
              and c["updates"] <= 1, "fire time %s split: %s: %s" % (ft, c, led.summary()))
    for w in want:
        c = per.get(w)
        check(c and c["imports"] == all_imports and c["versions"] == 1 and c["updates"] == 1,
              "fire time %s: %s, want one import per dataset, one version, one update: %s"
              % (w, c, led.summary()))
        outs = [hs[i][w]["outcome"] for i in range(2)]
        check(outs == ["succeeded", "succeeded"],
              "fire time %s: outcomes a=%s b=%s, want both succeeded" % (w, outs[0], outs[1]))
        check(any(h[w].get("followed") for h in hs),
              "fire time %s: neither host records that it followed the other" % w)
    extra_tags = sorted(set(per) - set(want))
    ctx.log("fire times %s completed once by both; followers %s; also seen %s; rejected creates %d",
            want, {w: [NAMES[i] for i in range(2) if hs[i][w].get("followed")] for w in want},
            extra_tags, len(led.rejected()))


def sigv4_sees_offset(ctx):
    """The hook reaches SigV4's request time: a `once` whose clock is 400 s
    ahead (beyond the emulator's 5 minutes) is refused first (403
    InvalidSignatureException, as AWS answers an expired signature), corrects
    its clock from the reply's Date and succeeds; its job names carry its
    own (shifted) minute. A malformed offset is refused with exit 78."""
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    t0 = time.time()
    r = ctx.cli(cfg, ctx.state_dir(), "once", env=ctx.env(extra={OFFSET_ENV: "400000"}))
    t1 = time.time()
    check(r.rc == 0, "once with a clock 400 s ahead: want exit 0\n%r" % r)
    check("test clock offset in effect" in r.err, "no warning about the test offset\n%r" % r)
    led = prtest.Ledger(emu)
    # the emulator answers a request signed too far off its clock as AWS
    # does: 403 InvalidSignatureException (signature expired)
    skewed = [e for e in led.unsigned() if e.get("status") == 403]
    check(skewed, "no request was refused for clock skew: the offset did not reach SigV4: %s"
          % led.summary())
    check(len(skewed) == len(led.unsigned()) and len(skewed) <= 2,
          "want one or two refused requests (then corrected), got %d: %s"
          % (len(led.unsigned()), led.unsigned()))
    led.assert_one_run(bad_signatures_ok=True)
    check(led.fire_tags() <= {tag(t0 + 400), tag(t1 + 400)},
          "job names %s do not carry the shifted minute %s" % (led.fire_tags(), tag(t0 + 400)))
    bad = ctx.cli(cfg, ctx.state_dir("bad"), "once", env=ctx.env(extra={OFFSET_ENV: "1.5s"}))
    check(bad.rc == 78 and OFFSET_ENV in bad.err,
          "a malformed offset: want exit 78 naming the variable\n%r" % bad)


def case(skew_ms, catch_up, beyond=False):
    return lambda ctx: run_case(ctx, skew_ms, catch_up, beyond)


CASES = [
    ("the offset reaches SigV4 (400 s: refused, corrected); a bad value is refused",
     sigv4_sees_offset),
    ("skew +100 ms, catch-up and timer", case(100, True)),
    ("skew -5 s, catch-up and timer", case(-5000, True)),
    ("skew +30 s, catch-up and timer", case(30000, True)),
    ("skew +59 s, timer", case(59000, False)),
    ("skew -59 s, timer", case(-59000, False)),
    ("skew +90 s (beyond the minute): no crash, behaviour recorded", case(90000, False, True)),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=len(CASES))
