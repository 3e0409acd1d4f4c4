#!/usr/bin/env python3
# run-tests: duration=1
"""daemon_check_online - `check --online` against the emulator: a right
config passes (exit 0), performAutoTraining on gives a warning, an ARN that
does not exist fails (exit 78), an unreachable endpoint gives 69."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402


def check_online(ctx, cfg, env_extra=None):
    return ctx.cli(cfg, None, "check", "--online", log_level=None, timeout=60,
                   env=ctx.env(extra=env_extra))


def right_config(ctx):
    """A right config passes; the same with a campaign that does not exist
    fails with 78."""
    prtest.require_binaries()
    emu = ctx.emulator()
    cfg = ctx.config(emu, datasets=3, campaign=True)
    r = check_online(ctx, cfg)
    check(r.rc == 0, "right config: %r" % r)
    for want in ("ok   solution", "ok   campaign", "is in the solution's dataset group"):
        check(want in r.out, "right config: output lacks %r:\n%s" % (want, r.out))
    check("WARN" not in r.out, "right config: unexpected warning:\n%s" % r.out)
    bad = ctx.path("bad.cfg")
    with open(cfg) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("campaign/my-campaign", "campaign/no-such-campaign"))
    r = check_online(ctx, bad)
    check(r.rc == 78 and "does not exist" in r.out,
          "missing campaign: want exit 78 and 'does not exist': %r" % r)


def auto_training(ctx):
    """performAutoTraining on: exit 0 with a warning."""
    prtest.require_binaries()
    with open(prtest.WORLD) as f:
        world = json.load(f)
    world["solutions"][0]["performAutoTraining"] = True
    wpath = ctx.path("auto.json")
    with open(wpath, "w") as f:
        json.dump(world, f)
    emu = ctx.emulator(world=wpath)
    cfg = ctx.config(emu, datasets=1, campaign=True)
    r = check_online(ctx, cfg)
    check(r.rc == 0 and "WARN solution" in r.out and "performAutoTraining" in r.out,
          "performAutoTraining: want exit 0 and a warning: %r" % r)


def unreachable(ctx):
    """Nothing listens on the endpoint: exit 69."""
    prtest.require_binaries()
    port = ctx.refused_port()
    cfg = ctx.config(None, datasets=1, campaign=False,
                     extra={"EndpointUrl": "http://127.0.0.1:%d" % port})
    r = check_online(ctx, cfg, env_extra={"AWS_MAX_ATTEMPTS": "1"})
    check(r.rc == 69, "unreachable: want exit 69: %r" % r)


if __name__ == "__main__":
    prtest.main([
        ("right config passes, a missing campaign fails", right_config),
        ("performAutoTraining warns", auto_training),
        ("unreachable endpoint", unreachable),
    ])
