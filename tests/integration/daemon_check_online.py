#!/usr/bin/env python3
# run-tests: duration=1
"""daemon_check_online - `check --online` against the emulator: a right
config passes (exit 0), performAutoTraining on gives a warning, an ARN that
does not exist fails (exit 78), an unreachable endpoint gives 69."""
import json
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_harness import REPO, Emulator, install_signal_cleanup  # noqa: E402
from daemon_once import binary, env, write_config  # noqa: E402

WORLD = os.path.join(REPO, "tests/emulator/worlds/test.json")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def check_online(cfg, timeout=60):
    p = subprocess.run([binary(), "-c", cfg, "check", "--online"], capture_output=True,
                       text=True, timeout=timeout, env=env(), cwd=REPO)
    return p.returncode, p.stdout, p.stderr


def main():
    install_signal_cleanup()
    with tempfile.TemporaryDirectory(prefix="pr-online-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        with Emulator(world=WORLD) as emu:
            write_config(cfg, emu.url, 3, True, "online")
            rc, out, err = check_online(cfg)
            if rc != 0:
                fail("right config: exit %d\n%s%s" % (rc, out, err))
            for want in ("ok   solution", "ok   campaign", "is in the solution's dataset group"):
                if want not in out:
                    fail("right config: output lacks %r:\n%s" % (want, out))
            if "WARN" in out:
                fail("right config: unexpected warning:\n%s" % out)
            # a campaign that does not exist
            bad = os.path.join(tmp, "bad.cfg")
            with open(cfg) as f:
                text = f.read()
            text = text.replace("campaign/my-campaign", "campaign/no-such-campaign")
            with open(bad, "w") as f:
                f.write(text)
            rc, out, err = check_online(bad)
            if rc != 78 or "does not exist" not in out:
                fail("missing campaign: exit %d, want 78 and 'does not exist':\n%s%s" % (rc, out, err))
        # performAutoTraining on
        with open(WORLD) as f:
            world = json.load(f)
        world["solutions"][0]["performAutoTraining"] = True
        wpath = os.path.join(tmp, "auto.json")
        with open(wpath, "w") as f:
            json.dump(world, f)
        with Emulator(world=wpath) as emu:
            write_config(cfg, emu.url, 1, True, "online")
            rc, out, err = check_online(cfg)
            if rc != 0 or "WARN solution" not in out or "performAutoTraining" not in out:
                fail("performAutoTraining: exit %d, want 0 and a warning:\n%s%s" % (rc, out, err))
        # nothing listens: unreachable
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        write_config(cfg, "http://127.0.0.1:%d" % port, 1, False, "online")
        e = dict(env())
        e["AWS_MAX_ATTEMPTS"] = "1"
        p = subprocess.run([binary(), "-c", cfg, "check", "--online"], capture_output=True,
                           text=True, timeout=60, env=e, cwd=REPO)
        if p.returncode != 69:
            fail("unreachable: exit %d, want 69:\n%s%s" % (p.returncode, p.stdout, p.stderr))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("check --online: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
