#!/usr/bin/env python3
# run-tests: duration=20
"""daemon_crash - crash safety of `once` and `run` under a failing state
directory, hostile files in it, and runs that give up; against the emulator.

Each case checks the ledger for duplicate creates, that files it did not
mean to touch are unchanged, and the message:
  - a rejected call names the service's error code (InvalidSignature, not
    InvalidInput), in the log and in the state's reason;
  - a reply cut off after a while is retried with a warning; a directory at
    the state path ends `once` with 78 and no call;
  - state files are new files (mode 0600) renamed in: a hard link at the
    scratch name keeps its target's bytes;
  - a FIFO at the state path or as -c blocks nothing: 78, status says so,
    `run` stops on SIGTERM;
  - a save that fails (test hook PERSONALIZE_RETRAIN_TEST_STATE_WRITE_FAIL)
    stops the run before its next call (exit 74, the reason logged) and the
    next `once` adopts what was sent: one import per dataset, one version,
    one update in the ledger.
"""
import os
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402


def state_path(sd):
    return os.path.join(sd, prtest.PIPELINE + ".json")


def rejected_code(ctx):
    # a wrong secret: every call is refused with InvalidSignatureException
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    env = ctx.env(extra={"AWS_SECRET_ACCESS_KEY": "wrong" + prtest.SECRET[5:]})
    r = ctx.spawn(cfg, sd, "once", env=env).wait(prtest.RUN_TIMEOUT_S)
    check(r.rc == 1, "once with a wrong secret: want exit 1\n%r" % r)
    check("rejected (InvalidSignature)" in r.err,
          "the log does not name the service's error code\n%s" % prtest.tail(r.err))
    check("(InvalidInput)" not in r.err, "still labelled InvalidInput\n%s" % prtest.tail(r.err))
    st = prtest.read_state(sd)
    reason = (st.get("history") or [{}])[0].get("reason", "")
    check("rejected (InvalidSignature)" in reason, "state reason: %r" % reason)
    led = prtest.Ledger(emu)
    check(not led.jobs and not led.versions, "something was created: %s" % led.summary())


def cut_reply_warned(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator(faults=[{"operation": "DescribeSolutionVersion", "kind": "cut",
                                "delayMs": 1200, "count": 1}])
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once", log_level="notice")
    check(r.rc == 0, "once: want exit 0\n%r" % r)
    check("DescribeSolutionVersion: reply cut off after 1." in r.err,
          "no warning about the cut reply\n%s" % prtest.tail(r.err))
    prtest.Ledger(emu).assert_one_run()


def state_is_directory(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    os.mkdir(state_path(sd))
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 78, "once with a directory at the state path: want exit 78\n%r" % r)
    check(state_path(sd) in r.err, "the error does not name the file\n%r" % r)
    check(not emu.ledger_lines(), "calls were made: %s" % emu.ledger_lines()[:3])
    check(os.path.isdir(state_path(sd)) and not os.listdir(state_path(sd)),
          "the directory was changed")


def scratch_link_not_written(ctx):
    # a hard link planted at the scratch name must not get state JSON in
    # its target; a state file made 0644 is 0600 again after the next save
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    victim = ctx.path("victim.txt")
    with open(victim, "w") as f:
        f.write("precious\n")
    os.link(victim, os.path.join(sd, "." + prtest.PIPELINE + ".json.tmp"))
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once: want exit 0\n%r" % r)
    with open(victim) as f:
        got = f.read()
    check(got == "precious\n", "the linked file was written through: %r" % got[:80])
    check(os.stat(victim).st_nlink == 1, "the link is still there")
    check(not os.path.exists(os.path.join(sd, "." + prtest.PIPELINE + ".json.tmp")),
          "a scratch file was left behind")
    prtest.Ledger(emu).assert_one_run()
    os.chmod(state_path(sd), 0o644)
    ino = os.stat(state_path(sd)).st_ino
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "second once: want exit 0\n%r" % r)
    stt = os.stat(state_path(sd))
    check(stt.st_mode & 0o7777 == 0o600, "state file mode %o, want 600" % (stt.st_mode & 0o7777))
    check(stt.st_ino != ino, "the state file was written in place")


def fifo_refused(ctx):
    # a FIFO at the state path (or as the config) must block nothing: once
    # and check end with 78, status says unreadable, run honours SIGTERM
    prtest.require_commands("once", "status", "check", "run")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    os.mkfifo(state_path(sd))
    r = ctx.cli(cfg, sd, "once", timeout=10)
    check(r.rc == 78, "once with a FIFO at the state path: want exit 78\n%r" % r)
    check("not a regular file" in r.err and state_path(sd) in r.err,
          "the error does not say what is wrong\n%r" % r)
    r = ctx.cli(cfg, sd, "status", timeout=10)
    check(r.rc == 0 and "not a regular file" in r.out, "status\n%r" % r)
    d = ctx.daemon(cfg, sd)
    d.signal(signal.SIGTERM)
    r = d.wait(prtest.STOP_TIMEOUT_S)
    check(r.rc == 0, "run with a FIFO at the state path: SIGTERM, want exit 0\n%r" % r)
    check(not emu.ledger_lines(), "calls were made: %s" % emu.ledger_lines()[:3])
    check(stat.S_ISFIFO(os.stat(state_path(sd)).st_mode), "the FIFO was moved or replaced")
    fifo_cfg = ctx.path("fifo.cfg")
    os.mkfifo(fifo_cfg)
    r = ctx.cli(fifo_cfg, sd, "check", timeout=10)
    check(r.rc == 78 and "not a regular file" in r.err, "check -c FIFO: want 78\n%r" % r)


WRITE_FAIL = "PERSONALIZE_RETRAIN_TEST_STATE_WRITE_FAIL"


def save_fails_from_start(ctx):
    # every save fails (a directory made unwritable after start): nothing
    # is created, once says why and exits 74
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    r = ctx.spawn(cfg, sd, "once", env=ctx.env(extra={WRITE_FAIL: "0:EACCES"})).wait(
        prtest.RUN_TIMEOUT_S)
    check(r.rc == 74, "once with every save failing: want exit 74\n%r" % r)
    check("cannot save the state (Permission denied)" in r.err,
          "no message saying why\n%s" % prtest.tail(r.err))
    led = prtest.Ledger(emu)
    check(not led.jobs and not led.versions and not led.updates(),
          "created without a saved intent: %s" % led.summary())
    check(not prtest.state_files(sd), "a state file was written: %s" % os.listdir(sd))


def save_fails_mid_run(code, after, msg):
    def case(ctx):
        # saves fail after the first `after`: the run stops before its next
        # call; the next once adopts what was sent, creating nothing twice
        prtest.require_commands("once")
        emu = ctx.emulator()
        cfg = ctx.config(emu)
        sd = ctx.state_dir()
        r = ctx.spawn(cfg, sd, "once",
                      env=ctx.env(extra={WRITE_FAIL: "%d:%s" % (after, code)})).wait(
            prtest.RUN_TIMEOUT_S)
        check(r.rc == 74, "once with saves failing (%s): want exit 74\n%r" % (code, r))
        check("cannot save the state (%s)" % msg in r.err and "stopped while" in r.err,
              "no message saying why\n%s" % prtest.tail(r.err))
        before = prtest.Ledger(emu)
        st = prtest.read_state(sd)
        check(st and st.get("run"), "the last save that worked holds no run: %s" % st)
        ctx.log("stopped after: %s", before.count_ops())
        r = ctx.cli(cfg, sd, "once")
        check(r.rc == 0, "the next once: want exit 0\n%r" % r)
        prtest.Ledger(emu).assert_one_run(rejected_ok=True)
        check(prtest.last_outcome(sd) == "succeeded", "state: %s" % prtest.read_state(sd))
    return case


def daemon_save_fails(ctx):
    # run: a save that fails stops that run (STATUS= says why), the daemon
    # stays up and stops on SIGTERM; the next start adopts what was sent
    prtest.require_commands("run", "once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, schedule="cron(0 0 1 1 ? *)", extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    d = ctx.daemon(cfg, sd, env_extra={WRITE_FAIL: "1:ENOSPC"})
    d.notify.wait_for(lambda m: "cannot save the state" in m.get("STATUS", ""),
                      prtest.RUN_TIMEOUT_S, "STATUS= saying the save failed")
    check(d.alive(), "the daemon exited\n%r" % d.result())
    d.signal(signal.SIGTERM)
    r = d.wait(prtest.STOP_TIMEOUT_S)
    check(r.rc == 0, "SIGTERM: want exit 0\n%r" % r)
    check("cannot save the state (No space left on device)" in r.err,
          "no message saying why\n%s" % prtest.tail(r.err))
    led = prtest.Ledger(emu)
    check(not led.versions and len(led.jobs) == 3,
          "want the 3 imports only: %s" % led.summary())
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "the next once: want exit 0\n%r" % r)
    prtest.Ledger(emu).assert_one_run(rejected_ok=True)


CASES = [
    ("a rejection names the service's error code", rejected_code),
    ("a cut reply is retried with a warning", cut_reply_warned),
    ("a directory at the state path: once exits 78", state_is_directory),
    ("a hard link at the scratch name is not written through", scratch_link_not_written),
    ("a FIFO at the state path or as the config blocks nothing", fifo_refused),
    ("every save fails: nothing created, exit 74", save_fails_from_start),
    ("saves fail after the imports (ENOSPC): stopped, adopted next", save_fails_mid_run(
        "ENOSPC", 1, "No space left on device")),
    ("saves fail later (EIO): stopped, adopted next", save_fails_mid_run(
        "EIO", 3, "Input/output error")),
    ("run: a failed save stops the run, the daemon stays up", daemon_save_fails),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=3)
