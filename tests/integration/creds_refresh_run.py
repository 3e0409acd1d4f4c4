#!/usr/bin/env python3
# run-tests: duration=30
"""creds_refresh_run - assumed-role credentials in a long `run`: refreshed
in the background before they expire, and fetched anew when they expire
anyway.

One `run` daemon whose profile assumes a role (source_profile with keys),
the emulator's STS handing out credentials that live 315 s (--cred-ttl),
so the chain assumes the role again 15 s after each fetch (300 s ahead of
expiry: include/creds.h; at most every 15 s with the test hook
PERSONALIZE_RETRAIN_TEST_CREDS_RETRY_SEC, instead of 30 s), between the
two runs. On the test time scale (an hour in 22.5 real seconds, first fire
3 s after the start), schedule rate(1 hour): a run right away, the next
22.5 s later, 7.5 s after the refresh and 7.5 s before the one after it
(which would hide the expiry from the run). Asserted: the
first run succeeds with the first assumed key; the background refresh
(a second AssumeRole) happens while idle; then every temporary credential
is expired (POST /_emulator/credentials/expire) before the second run,
whose first call meets ExpiredTokenException: the chain assumes the role
again, the call is repeated once, and the second run succeeds on that
third key. The daemon keeps running throughout."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check, pick_anchor  # noqa: E402

SCALE_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE"
ANCHOR_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR"
RETRY_ENV = "PERSONALIZE_RETRAIN_TEST_CREDS_RETRY_SEC"
SCALE = 160             # an hour in 22.5 real seconds
PERIOD_S = 3600.0 / SCALE
LEAD_S = 3.0
RETRY_S = 15            # at most one background refresh every 15 s
CRED_TTL_S = 300 + RETRY_S  # refreshed 15 s after a fetch
ROLE = "arn:aws:iam::111122223333:role/app"


def assume_roles(emu):
    return [e for e in emu.ledger_lines() if e.get("operation") == "AssumeRole"
            and e.get("status") == 200]


def case_refresh(ctx):
    prtest.require_commands("run")
    anchor = pick_anchor(time.time(), SCALE, LEAD_S, period=3600)
    scaled = {SCALE_ENV: str(SCALE), ANCHOR_ENV: str(anchor)}
    emu = ctx.emulator(args=["--cred-ttl", str(CRED_TTL_S)], env_extra=scaled)
    cfg = ctx.config(emu, datasets=1, campaign=True, schedule="rate(1 hour)",
                     extra={"MaxRunDuration": "86400"})
    home = ctx.path("home")
    os.makedirs(home, exist_ok=True)
    conf, cred = os.path.join(home, "config"), os.path.join(home, "credentials")
    with open(conf, "w") as f:
        f.write("[profile app]\nrole_arn = %s\nsource_profile = base\n" % ROLE)
    with open(cred, "w") as f:
        f.write("[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                % (prtest.AKID, prtest.SECRET))
    ns = ctx.notify_socket()
    env = ctx.env(notify=ns, extra=dict(scaled, AWS_CONFIG_FILE=conf,
                                        AWS_SHARED_CREDENTIALS_FILE=cred, AWS_PROFILE="app",
                                        AWS_ENDPOINT_URL_STS=emu.url,
                                        **{RETRY_ENV: str(RETRY_S)}))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(k, None)
    p = ctx.spawn(cfg, ctx.state_dir(), "run", env=env)
    ns.wait_for(lambda m: m.get("READY") == "1", prtest.START_TIMEOUT_S, "READY=1")
    i = ns.wait_for(lambda m: "deploying" in m.get("STATUS", ""), LEAD_S + PERIOD_S + 30,
                    "the first run's deploy")
    i = ns.wait_for(lambda m: m.get("STATUS", "").startswith("idle"), 30,
                    "idle after the first run", since=i)
    first = assume_roles(emu)
    check(len(first) == 1, "%d AssumeRole for the first run, want 1" % len(first))
    key1 = first[0]["params"]["IssuedAccessKeyId"]
    # the background refresh while idle
    prtest.wait_until(lambda: len(assume_roles(emu)) >= 2 or not p.alive() or None,
                      RETRY_S + 30, "the background refresh (a second AssumeRole)")
    check(p.alive(), "the daemon ended:\n%r" % p.result())
    # every temporary credential expires before the second run
    emu.admin("POST", "credentials/expire", {})
    n_before = len(emu.ledger_lines())
    i = ns.wait_for(lambda m: "deploying" in m.get("STATUS", ""), PERIOD_S + 30,
                    "the second run's deploy", since=i)
    ns.wait_for(lambda m: m.get("STATUS", "").startswith("idle"), 30,
                "idle after the second run", since=i)
    check(p.alive(), "the daemon ended:\n%r" % p.result())
    later = emu.ledger_lines()[n_before:]
    check(any(e.get("error") == "ExpiredTokenException" for e in later),
          "the second run never met the expired credentials")
    roles = assume_roles(emu)
    check(len(roles) >= 3, "%d AssumeRole in all, want 3 (run, refresh, after expiry)"
          % len(roles))
    last_key = roles[-1]["params"]["IssuedAccessKeyId"]
    signed = [e for e in later if e.get("signatureOk") and e["operation"] != "AssumeRole"]
    check(signed and signed[-1]["accessKeyId"] == last_key,
          "the second run did not end on the fresh key")
    check(key1 != last_key, "the key never changed")
    check(all(e.get("identity", "").startswith("arn:aws:sts::111122223333:assumed-role/app/")
              for e in signed), "calls not made as the role")
    r = p.result()
    check(prtest.SECRET not in r.out + r.err, "the secret key was printed")


if __name__ == "__main__":
    prtest.require_binaries()
    prtest.main([("assumed role: background refresh, then fetched anew after expiry",
                  case_refresh)], parallel=1)
