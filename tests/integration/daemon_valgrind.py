#!/usr/bin/env python3
# run-tests: heavy duration=10
"""daemon_valgrind - the integration path under valgrind (memcheck,
--leak-check=full, definite and indirect leaks and every memory error
fail): `once` on the happy path; `once` through resets and malformed
replies (the retry and adoption paths), both with Tags; `run` through a catch-up run, a
SIGHUP reload and SIGTERM. Skips (77) when valgrind is not installed."""
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

VALGRIND_RC = 99   # --error-exitcode: tells valgrind's verdict from the program's
TAGS = "team=recs,env=prod"  # the creates carry tags (config_tags.c, personalize.c)


def valgrind(ctx, name):
    vg = shutil.which("valgrind")
    if not vg:
        raise prtest.Skip("valgrind is not installed")
    return [vg, "--quiet", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect", "--error-exitcode=%d" % VALGRIND_RC,
            "--track-origins=yes", "--log-file=%s" % ctx.path(name + ".valgrind")]


def report(ctx, name):
    with open(ctx.path(name + ".valgrind")) as f:
        return prtest.tail(f.read(), 80)


def once_happy(ctx):
    prtest.require_commands("once")
    wrap = valgrind(ctx, "once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, extra={"Tags": TAGS})
    sd = ctx.state_dir()
    r = ctx.spawn(cfg, sd, "once", wrapper=wrap, name="once").wait(120)
    check(r.rc != VALGRIND_RC, "valgrind found errors:\n%s" % report(ctx, "once"))
    check(r.rc == 0, "once under valgrind: want exit 0\n%r" % r)
    prtest.Ledger(emu).assert_one_run()


def once_faults(ctx):
    prtest.require_commands("once")
    wrap = valgrind(ctx, "once")
    emu = ctx.emulator(seed=3, faults=[
        {"operation": "CreateDatasetImportJob", "kind": "reset", "phase": "after",
         "count": 1},
        {"operation": "CreateSolutionVersion", "kind": "malformed", "phase": "after",
         "count": 1},
        {"operation": "DescribeDatasetImportJob", "kind": "truncated", "count": 1},
        {"operation": "DescribeCampaign", "kind": "503", "count": 2},
        {"operation": "UpdateCampaign", "kind": "throttle", "count": 1},
    ])
    cfg = ctx.config(emu, extra={"Tags": TAGS})
    sd = ctx.state_dir()
    r = ctx.spawn(cfg, sd, "once", wrapper=wrap, name="once").wait(120)
    check(r.rc != VALGRIND_RC, "valgrind found errors:\n%s" % report(ctx, "once"))
    check(r.rc == 0, "once under valgrind: want exit 0\n%r" % r)
    prtest.Ledger(emu).assert_one_run(rejected_ok=True)


def run_reload_stop(ctx):
    prtest.require_commands("run")
    wrap = valgrind(ctx, "run")
    emu = ctx.emulator()
    cfg = ctx.config(emu, schedule="cron(0 0 1 1 ? *)", extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    ns = ctx.notify_socket()
    d = ctx.spawn(cfg, sd, "run", wrapper=wrap, env=ctx.env(notify=ns), name="run")
    ns.wait_for(lambda m: m.get("READY") == "1", 60, "READY=1 under valgrind")

    def done():
        check(d.alive(), "run exited:\n%r\n%s" % (d.result(), report(ctx, "run")))
        st = prtest.read_state(sd)
        return st and not st.get("run") and st.get("history")
    prtest.wait_until(done, 120, "the catch-up run to finish under valgrind", 0.1)
    i = ns.count()
    d.signal(signal.SIGHUP)
    ns.wait_for(lambda m: m.get("READY") == "1", 30, "READY=1 after SIGHUP", since=i)
    d.signal(signal.SIGTERM)
    r = d.wait(60)
    check(r.rc != VALGRIND_RC, "valgrind found errors:\n%s" % report(ctx, "run"))
    check(r.rc == 0, "run under valgrind after SIGTERM: want exit 0\n%r" % r)
    check(prtest.last_outcome(sd) == "succeeded", "the run did not succeed")
    prtest.Ledger(emu).assert_one_run()


CASES = [
    ("once, happy path", once_happy),
    ("once, resets and malformed replies", once_faults),
    ("run, catch-up run, SIGHUP, SIGTERM", run_reload_stop),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=3)
