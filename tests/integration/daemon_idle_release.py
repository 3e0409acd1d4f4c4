#!/usr/bin/env python3
# run-tests: duration=16
"""daemon_idle_release - an idle `run` keeps no connection open: not after
a run, and not after a background credentials refresh while idle.

The daemon closes its HTTP connections when the last running pipeline goes
idle (src/daemon.c, release_idle_resources), and again after a credentials
fetch that ends while every pipeline is idle: temporary credentials are
refreshed from the event loop ahead of expiry, and that request's
keep-alive connection would otherwise stay open (ESTABLISHED, then
CLOSE_WAIT once the server drops it) until the next run ends.

One `run` daemon, credentials from the emulator's container endpoint
(AWS_CONTAINER_CREDENTIALS_FULL_URI) with a 310 s lifetime, so the chain
refreshes them in the background 10 s after a fetch (300 s ahead of
expiry, include/creds.h; at most every 10 s with the test hook
PERSONALIZE_RETRAIN_TEST_CREDS_RETRY_SEC, instead of 30 s, so that the
first refresh comes well after the run and well before the next one). On
the test time scale of include/wallclock.h (an hour in 60 real seconds,
the anchor chosen so that an hour starts 3 s after the start), schedule
rate(1 hour): one run right away, the next a minute later. Asserted, from /proc/PID/fd and
/proc/net/tcp: no TCP socket once that run has ended and the daemon says
idle; a second fetch from the container endpoint (the background refresh)
while idle; no TCP socket 1.5 s after it."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check, pick_anchor  # noqa: E402

SCALE_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE"
ANCHOR_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR"
SCALE = 60              # an hour in a real minute
LEAD_S = 3.0            # real seconds from the start to the first fire time
RETRY_ENV = "PERSONALIZE_RETRAIN_TEST_CREDS_RETRY_SEC"
RETRY_S = 10            # at most one background refresh every 10 s
CRED_TTL_S = 300 + RETRY_S  # refreshed 10 s after a fetch
REFRESH_WAIT_S = 45     # bound on waiting for that refresh
SETTLE_S = 1.5          # after the refresh, before looking


def tcp_sockets(pid):
    """The TCP connections pid holds: [(state hex, remote)], from its socket
    fds matched against /proc/net/tcp and tcp6."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[9] in inodes:
                        found.append((cols[3], cols[2]))
        except OSError:
            pass
    return found


def fetches(emu):
    return sum(1 for e in emu.ledger_lines() if e.get("operation") == "ContainerCredentials")


def case_idle_release(ctx):
    prtest.require_commands("run")
    anchor = pick_anchor(time.time(), SCALE, LEAD_S, period=3600)
    scaled = {SCALE_ENV: str(SCALE), ANCHOR_ENV: str(anchor)}
    emu = ctx.emulator(args=["--cred-ttl", str(CRED_TTL_S)], env_extra=scaled)
    # MaxRunDuration is schedule time: a day is 24 real minutes here
    cfg = ctx.config(emu, datasets=1, campaign=True, schedule="rate(1 hour)",
                     extra={"MaxRunDuration": "86400"})
    sd = ctx.state_dir()
    ns = ctx.notify_socket()
    env = ctx.env(notify=ns, extra=dict(scaled, AWS_CONTAINER_CREDENTIALS_FULL_URI=emu.url + "/creds",
                                        **{RETRY_ENV: str(RETRY_S)}))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(k, None)
    p = ctx.spawn(cfg, sd, "run", env=env)
    ns.wait_for(lambda m: m.get("READY") == "1", prtest.START_TIMEOUT_S, "READY=1")
    # the run at the first fire time, then idle (should the daemon come up
    # after that fire time on a slow machine, the next one, a minute later)
    i = ns.wait_for(lambda m: "deploying" in m.get("STATUS", ""), LEAD_S + 60 + 30,
                    "the first run's deploy")
    ns.wait_for(lambda m: m.get("STATUS", "").startswith("idle"), 30,
                "idle after the first run", since=i)
    check(fetches(emu) == 1, "container credentials fetched %d times by the run, want 1"
          % fetches(emu))
    prtest.wait_until(lambda: not tcp_sockets(p.p.pid) or None, 5,
                      "no TCP connection after the run")
    # the background refresh while idle
    prtest.wait_until(lambda: fetches(emu) >= 2 or not p.alive() or None, REFRESH_WAIT_S,
                      "the background credentials refresh")
    check(p.alive(), "the daemon ended:\n%r" % p.result())
    time.sleep(SETTLE_S)
    left = tcp_sockets(p.p.pid)
    check(not left, "%d TCP connection(s) still open %.1f s after the background "
          "refresh (state, remote): %s" % (len(left), SETTLE_S, left))
    ops = [e["operation"] for e in emu.ledger_lines() if e.get("operation")]
    check(ops.count("UpdateCampaign") == 1,
          "%d UpdateCampaign, want 1 (a second fire time came during the test?)"
          % ops.count("UpdateCampaign"))


if __name__ == "__main__":
    prtest.main([("no connection kept while idle, after a run and after a refresh",
                  case_idle_release)])
