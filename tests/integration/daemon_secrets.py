#!/usr/bin/env python3
# run-tests: duration=5
"""daemon_secrets - never a secret in the output: `once` and `run` at
--log-level debug with temporary credentials (access key, secret key and a
session token, which the emulator accepts), and then with a secret the
emulator disagrees with (it answers InvalidSignatureException quoting the
canonical request, which holds the session token, as AWS does). Neither
the secret key nor the session token - nor a 16-character piece of either
- may appear on stdout, stderr, in the state directory or in the ledger."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

PIECE = 16


def pieces(secret):
    return [secret[i:i + PIECE] for i in range(0, len(secret) - PIECE + 1, PIECE // 2)]


SECRETS = {"secret key": prtest.TMP_SECRET, "session token": prtest.TMP_TOKEN,
           "long-term secret key": prtest.SECRET}


def scan(ctx, texts):
    """texts: {where: text}; fail on any secret or piece of one."""
    for where, text in texts.items():
        for what, s in SECRETS.items():
            check(s not in text, "the %s appears in %s" % (what, where))
            hits = [p for p in pieces(s) if p in text]
            check(not hits, "a piece of the %s (%r) appears in %s" % (what, hits[0] if hits else "",
                                                                      where))


def files_under(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[p] = fh.read().decode(errors="replace")
    return out


def once_debug(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once", env=ctx.env(temporary=True), log_level="debug")
    check(r.rc == 0, "once with temporary credentials: want exit 0\n%r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    check(all(e.get("accessKeyId") == prtest.TMP_AKID for e in led.lines),
          "not every request was signed with the temporary key")
    check(len(r.err.splitlines()) >= 10, "debug logging printed only %d lines"
          % len(r.err.splitlines()))
    texts = {"stdout": r.out, "stderr": r.err, "ledger": emu.ledger_text()}
    texts.update(files_under(sd))
    scan(ctx, texts)


def bad_signature(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator(creds=[(prtest.TMP_AKID, "another/secret/the/service/expects0",
                               prtest.TMP_TOKEN)])
    cfg = ctx.config(emu)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once", env=ctx.env(temporary=True), log_level="debug")
    check(r.rc not in (0, 78), "once with a rejected signature: want a failure exit\n%r" % r)
    check("InvalidSignature" in r.err or "ignature" in r.err,
          "the signature error is not logged\n%r" % r)
    check(any(e.get("error") == "InvalidSignatureException" for e in emu.ledger_lines()),
          "the emulator saw no bad signature")
    texts = {"stdout": r.out, "stderr": r.err, "ledger": emu.ledger_text()}
    texts.update(files_under(sd))
    scan(ctx, texts)


def run_debug(ctx):
    prtest.require_commands("run")
    emu = ctx.emulator()
    cfg = ctx.config(emu, schedule="cron(0 0 1 1 ? *)", extra={"CatchUp": "yes"})
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    ns = ctx.notify_socket()
    d = ctx.spawn(cfg, sd, "run", env=ctx.env(temporary=True, notify=ns), log_level="debug")

    def done():
        check(d.alive(), "run exited:\n%r" % d.result())
        st = prtest.read_state(sd)
        return st and not st.get("run") and st.get("history")
    prtest.wait_until(done, prtest.RUN_TIMEOUT_S, "the catch-up run to finish", 0.05)
    i = ns.count()
    d.signal(signal.SIGHUP)
    ns.wait_for(lambda m: m.get("READY") == "1", 5, "READY=1 after SIGHUP", since=i)
    d.signal(signal.SIGTERM)
    r = d.wait(prtest.STOP_TIMEOUT_S)
    check(r.rc == 0, "run after SIGTERM: want exit 0\n%r" % r)
    check(prtest.last_outcome(sd) == "succeeded", "the run did not succeed")
    texts = {"stdout": r.out, "stderr": r.err, "ledger": emu.ledger_text(),
             "notify messages": repr(ns.messages())}
    texts.update(files_under(sd))
    scan(ctx, texts)


CASES = [
    ("once --log-level debug, temporary credentials", once_debug),
    ("once, InvalidSignature quoting the canonical request", bad_signature),
    ("run --log-level debug through a run and a reload", run_debug),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=3)
