#!/usr/bin/env python3
# run-tests: duration=15
"""daemon_signals - the daemon (`run`) under signals and damage:
  - SIGTERM mid-run (while importing, training, deploying): STOPPING=1 on
    the notify socket, exit 0 within a second, the unfinished run kept in
    the state; a restarted daemon adopts it (no create repeated or
    rejected) and it completes with one job of each kind;
  - SIGHUP with a bad config: RELOADING=1, the error logged as file:line,
    the daemon alive and READY=1 again with the old config (its STATUS
    still names the old next fire time); a good config then takes effect;
  - a corrupted state file (truncated / garbage / empty) left by a killed
    run: moved aside (<file>.corrupt-*) with a log line saying so, and the
    next `once` / `run` adopts the jobs of that fire time by name instead
    of creating new ones;
  - two daemons on one state directory: the second (`run` or `once`)
    refuses with a clear error naming the lock, the first keeps running,
    and `status` still works beside it;
  - SIGTERM while a create's reply is held back (the call ran): exit within
    a second all the same, and the restart adopts the job;
  - SIGHUP in the middle of a run: the run completes once;
  - STATUS= lines in order (importing N/3, training <version>, deploying
    <version> to <campaign>, idle, next run <time>), WATCHDOG=1 when
    WATCHDOG_USEC is set."""
import glob
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check, Fail  # noqa: E402

YEARLY = "cron(0 0 1 1 ? *)"
STOP_BOUND_S = 1.0   # SIGTERM: exit within a second


def wait_stage(sd, p, stage, timeout=prtest.RUN_TIMEOUT_S):
    def at():
        if p is not None and not p.alive():
            raise Fail("%s exited before stage %s:\n%r" % (p.name, stage, p.result()))
        st = prtest.read_state(sd)
        run = st and st.get("run")
        if not run or run.get("stage") != stage:
            return False
        if stage == "importing":   # the creates are out: ARNs recorded
            return all(s.get("arn") for s in run.get("imports") or [{}])
        return True
    prtest.wait_until(at, timeout, "the state's stage %s" % stage, 0.005)


def wait_finished(sd, p, timeout=prtest.RUN_TIMEOUT_S):
    def done():
        if not p.alive():
            raise Fail("%s exited:\n%r" % (p.name, p.result()))
        st = prtest.read_state(sd)
        return st and not st.get("run") and st.get("history")
    prtest.wait_until(done, timeout, "the run to finish", 0.05)


def stop(p):
    """SIGTERM; -> (Result, seconds until exit)."""
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    r = p.wait(prtest.STOP_TIMEOUT_S)
    return r, time.monotonic() - t0


def sigterm_at(stage):
    def case(ctx):
        prtest.require_commands("run")
        emu = ctx.emulator(durations={"importMs": 1500, "trainingMs": 1500,
                                      "campaignUpdateMs": 1500})
        cfg = ctx.config(emu, schedule=YEARLY, extra={"CatchUp": "yes"})
        sd = ctx.state_dir()
        prtest.seed_catchup_state(sd)
        d = ctx.daemon(cfg, sd, name="run-1")
        wait_stage(sd, d, stage)
        r, dt = stop(d)
        check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
        check(dt <= STOP_BOUND_S, "SIGTERM: exited after %.2fs, want within %.1fs"
              % (dt, STOP_BOUND_S))
        check(any(m.get("STOPPING") == "1" for m in d.notify.messages()),
              "no STOPPING=1 (got %s)" % d.notify.messages())
        st = prtest.read_state(sd)
        check(st.get("run") and st["run"].get("stage") == stage,
              "the unfinished run is not in the state after SIGTERM: %s" % st)
        n_before = len(emu.ledger_lines())
        d2 = ctx.daemon(cfg, sd, name="run-2")
        wait_finished(sd, d2)
        r2, _ = stop(d2)
        check(r2.rc == 0, "second daemon: want exit 0\n%r" % r2)
        check(prtest.last_outcome(sd) == "succeeded", "not succeeded: %s" % prtest.read_state(sd))
        led = prtest.Ledger(emu)
        led.assert_one_run()
        after = [e["operation"] for e in led.lines[n_before:]]
        check(any(op.startswith(("Describe", "List")) for op in after),
              "the restarted daemon never looked its jobs up: %s" % after)
    return case


def sigterm_reply_held(op):
    """SIGTERM while a create's reply is held back by the emulator (the call
    was executed, the daemon waits for the answer): it must still exit
    within a second, and the restarted daemon must find the job by name."""
    def case(ctx):
        prtest.require_commands("run")
        emu = ctx.emulator(faults=[{"operation": op, "kind": "slow", "count": 1,
                                    "delayMs": 5000}])
        cfg = ctx.config(emu, schedule=YEARLY, extra={"CatchUp": "yes"})
        sd = ctx.state_dir()
        prtest.seed_catchup_state(sd)
        d = ctx.daemon(cfg, sd, name="run-1")
        prtest.wait_until(lambda: any(e["operation"] == op and e.get("fault") == "slow"
                                      for e in emu.ledger_lines()),
                          prtest.RUN_TIMEOUT_S, "%s executed, reply held" % op, 0.005)
        r, dt = stop(d)
        check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
        check(dt <= STOP_BOUND_S, "SIGTERM with a call in flight: exited after %.2fs, want "
              "within %.1fs" % (dt, STOP_BOUND_S))
        check(any(m.get("STOPPING") == "1" for m in d.notify.messages()), "no STOPPING=1")
        d2 = ctx.daemon(cfg, sd, name="run-2")
        wait_finished(sd, d2)
        r2, _ = stop(d2)
        check(r2.rc == 0, "second daemon: want exit 0\n%r" % r2)
        check(prtest.last_outcome(sd) == "succeeded", "not succeeded: %s" % prtest.read_state(sd))
        prtest.Ledger(emu).assert_one_run()
    return case


def sighup_mid_run(ctx):
    """SIGHUP during a run, first with a bad config, then with a good one that
    changes PollInterval: the daemon stays up, the run goes on with the spec
    it started with and completes once."""
    prtest.require_commands("run")
    emu = ctx.emulator(durations={"importMs": 1500, "trainingMs": 1000})
    cfg = ctx.config(emu, schedule=YEARLY, extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    d = ctx.daemon(cfg, sd)
    ns = d.notify
    wait_stage(sd, d, "importing")
    with open(cfg) as f:
        good = f.read()
    with open(cfg, "w") as f:
        f.write(good + BAD_LINE + "\n")
    i = ns.count()
    d.signal(signal.SIGHUP)
    ns.wait_for(lambda m: m.get("READY") == "1", 5, "READY=1 after the bad reload", since=i)
    with open(cfg, "w") as f:
        f.write(good.replace("PollInterval=1", "PollInterval=2"))
    i = ns.count()
    d.signal(signal.SIGHUP)
    ns.wait_for(lambda m: m.get("READY") == "1", 5, "READY=1 after the good reload", since=i)
    wait_finished(sd, d)
    r, _ = stop(d)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    check(prtest.last_outcome(sd) == "succeeded", "not succeeded: %s" % prtest.read_state(sd))
    prtest.Ledger(emu).assert_one_run()


BAD_LINE = "PollInterval=soon"


def sighup_bad_config(ctx):
    prtest.require_commands("run")
    emu = ctx.emulator()
    cfg = ctx.config(emu)              # schedule: 2099-01-01 only
    sd = ctx.state_dir()
    d = ctx.daemon(cfg, sd)
    ns = d.notify
    status0 = ns.statuses()
    check(status0 and "2099" in status0[-1],
          "STATUS does not name the next fire time 2099-...: %s" % status0)
    with open(cfg) as f:
        good = f.read()
    lines = good.replace("RetrainingRate=" + prtest.NEVER, "RetrainingRate=" + YEARLY).splitlines()
    lines.insert(3, BAD_LINE)          # line 4 of the file
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    i = ns.count()
    d.signal(signal.SIGHUP)
    ns.wait_for(lambda m: m.get("RELOADING") == "1", 5, "RELOADING=1", since=i)
    ns.wait_for(lambda m: m.get("READY") == "1", 5, "READY=1 after the failed reload", since=i)

    def logged():
        return any(("%s:4:" % cfg) in l for l in d.err().splitlines())
    prtest.wait_until(logged, 5, "a log line '%s:4: ...' about the bad line" % cfg, 0.05)
    time.sleep(0.3)
    check(d.alive(), "the daemon died on a bad config:\n%r" % d.result())
    st = ns.statuses()
    check(st and "2099" in st[-1] and "2027" not in st[-1],
          "after the rejected reload STATUS is %r: the old config is not what runs" % st[-1:])
    # a good new config takes effect
    with open(cfg, "w") as f:
        f.write(good.replace("RetrainingRate=" + prtest.NEVER, "RetrainingRate=" + YEARLY))
    i = ns.count()
    d.signal(signal.SIGHUP)
    ns.wait_for(lambda m: m.get("READY") == "1", 5, "READY=1 after the good reload", since=i)
    ns.wait_for(lambda m: "STATUS" in m and "2027-01-01" in m["STATUS"], 5,
                "STATUS naming the new next fire time 2027-01-01", since=i)
    r, dt = stop(d)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    creates = [e for e in emu.ledger_lines() if e["operation"] in prtest.CREATE_OPS]
    check(not creates, "an idle daemon made creates: %s" % creates)


def corrupt(kind):
    def damage(path):
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            if kind == "truncated":
                f.write(data[:len(data) // 2])
            elif kind == "garbage":
                f.write(b"\x00\xff garbage \x7f{{{" * 20)
            else:
                pass                   # empty
    return damage


def corrupted_state(command, kind, stage="importing"):
    def case(ctx):
        prtest.require_commands(command)
        emu = ctx.emulator(durations={"importMs": 1500, "trainingMs": 1500})
        cfg = ctx.config(emu, schedule=YEARLY, extra={"CatchUp": "yes"})
        sd = ctx.state_dir()
        if command == "run":
            prtest.seed_catchup_state(sd)
            p = ctx.daemon(cfg, sd, name="run-killed")
        else:
            # the recovering `once` can only find the killed one's jobs when
            # both run for the same minute (job names carry the fire time,
            # now truncated to the minute): keep them in one (past second
            # 45, the case's clock is set back to the start of a minute)
            ctx.second_below(45)
            p = ctx.spawn(cfg, sd, "once", name="once-killed")
        wait_stage(sd, p, stage)
        p.kill9()
        path = os.path.join(sd, prtest.PIPELINE + ".json")
        corrupt(kind)(path)
        if command == "run":
            p2 = ctx.daemon(cfg, sd, name="run-recovering")
            wait_finished(sd, p2)
            r, _ = stop(p2)
        else:
            r = ctx.cli(cfg, sd, "once", name="once-recovering")
            check(r.rc == 0, "once after a corrupt state: want exit 0\n%r" % r)
        moved = glob.glob(path + ".corrupt-*")
        check(len(moved) == 1, "the corrupt file was not moved aside: %s" % os.listdir(sd))
        lines = [l for l in r.err.splitlines() if os.path.basename(moved[0]) in l]
        check(lines, "no log line names where the corrupt file went (%s)\n%r"
              % (os.path.basename(moved[0]), r))
        check(prtest.last_outcome(sd) == "succeeded", "not succeeded: %s" % prtest.read_state(sd))
        # the jobs of the killed run were adopted by name: one of each
        prtest.Ledger(emu).assert_one_run(rejected_ok=True)
        led = prtest.Ledger(emu)
        if led.rejected():
            ctx.log("rejected creates before adoption: %s",
                    [(e["operation"], e["error"]) for e in led.rejected()])
    return case


def statuses(ctx):
    """STATUS= on every change: importing N/3, training <name>, deploying
    <name> to <campaign>, then idle with the next fire time."""
    prtest.require_commands("run")
    emu = ctx.emulator(durations={"importMs": 400, "trainingMs": 400, "campaignUpdateMs": 400})
    cfg = ctx.config(emu, schedule=YEARLY, extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    d = ctx.daemon(cfg, sd)
    wait_finished(sd, d)
    d.notify.wait_for(lambda m: m.get("STATUS", "").startswith("idle, next run"), 5,
                      "STATUS=idle, next run ...")
    st = d.notify.statuses()
    r, _ = stop(d)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    want = [("importing", lambda x: x.startswith("importing") and "/3" in x),
            ("training <version>", lambda x: x.startswith("training") and "-train" in x),
            ("deploying <version> to <campaign>",
             lambda x: x.startswith("deploying") and "-train" in x and "my-campaign" in x),
            ("idle, next run 2027-01-01T00:00:00Z",
             lambda x: x.startswith("idle") and "2027-01-01T00:00:00Z" in x)]
    pos = 0
    for what, ok in want:
        i = next((i for i in range(pos, len(st)) if ok(st[i])), None)
        check(i is not None, "no STATUS= %s (in order) among %s" % (what, st))
        pos = i
    check(any(m.get("STOPPING") == "1" for m in d.notify.messages()), "no STOPPING=1")


def watchdog(ctx):
    prtest.require_commands("run")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    d = ctx.daemon(cfg, sd, env_extra={"WATCHDOG_USEC": "400000"})
    i = d.notify.count()
    for k in range(3):
        i = d.notify.wait_for(lambda m: m.get("WATCHDOG") == "1", 2,
                              "WATCHDOG=1 (#%d) with WATCHDOG_USEC=400000" % (k + 1), since=i) + 1
    r, _ = stop(d)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)


def two_daemons(ctx):
    prtest.require_commands("run")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    d1 = ctx.daemon(cfg, sd, name="run-first")
    for cmd in ("run", "once"):
        r = ctx.cli(cfg, sd, cmd, name="%s-second" % cmd, timeout=10)
        check(r.rc != 0, "a second %s on the same state directory started (exit 0)\n%r" % (cmd, r))
        text = (r.err + r.out).lower()
        check("lock" in text or "another" in text or "already" in text,
              "the second %s's error does not say the directory is locked / in use:\n%r" % (cmd, r))
        check(str(d1.pid) in r.err + r.out or "lock" in text,
              "the error names neither the lock nor the first daemon's PID %d:\n%r" % (d1.pid, r))
        check(d1.alive(), "the first daemon died:\n%r" % d1.result())
    new_creates = [e for e in emu.ledger_lines() if e["operation"] in prtest.CREATE_OPS]
    check(not new_creates, "creates were made: %s" % new_creates)
    if "status" in prtest.commands():
        r = ctx.cli(cfg, sd, "status", timeout=10)
        check(r.rc == 0, "status beside a running daemon: want exit 0\n%r" % r)
    r, _ = stop(d1)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    # the lock is released: a new daemon starts
    d2 = ctx.daemon(cfg, sd, name="run-after")
    r, _ = stop(d2)
    check(r.rc == 0, "daemon after the first stopped: want exit 0\n%r" % r)


CASES = [
    ("SIGTERM while importing, restart adopts", sigterm_at("importing")),
    ("SIGTERM while training, restart adopts", sigterm_at("training")),
    ("SIGTERM while deploying, restart adopts", sigterm_at("deploying")),
    ("SIGTERM with CreateSolutionVersion's reply held", sigterm_reply_held("CreateSolutionVersion")),
    ("SIGTERM with UpdateCampaign's reply held", sigterm_reply_held("UpdateCampaign")),
    ("SIGHUP with a bad config", sighup_bad_config),
    ("SIGHUP mid-run, bad then good config", sighup_mid_run),
    ("corrupt state (truncated), once", corrupted_state("once", "truncated")),
    ("corrupt state (garbage), run", corrupted_state("run", "garbage")),
    ("corrupt state (empty), once", corrupted_state("once", "empty")),
    ("corrupt state (truncated) while training, run",
     corrupted_state("run", "truncated", "training")),
    ("STATUS= through a run, READY, idle", statuses),
    ("WATCHDOG=1 when WATCHDOG_USEC is set", watchdog),
    ("two daemons on one state directory", two_daemons),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=6)
