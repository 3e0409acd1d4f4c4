"""emulator_harness - start, drive and stop personalize-emulator without a
prtest Ctx: a context manager of its own, for s3_head.py, daemon_skip.py
and tests/bench/daemon_bench.py. Tests written on prtest.py get the
emulator from Ctx.emulator() instead. Not a test itself (not executable).

    with Emulator(world="tests/emulator/worlds/test.json") as emu:
        emu.url                       # http://127.0.0.1:PORT
        emu.admin("POST", "faults", {"rules": [...]})
        emu.ledger()                  # list of dicts, one per request

The emulator always runs with --port 0 --port-file, and is stopped with
SIGTERM (then SIGKILL after a bound) and reaped, whatever happens.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prtest import amz_now, pick_anchor, raw_call  # noqa: E402,F401  (re-exported)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 5

AKID = "AKIDEMULATORTEST1"
SECRET = "emulator/test/secret/key/0123456789abcdef"


def emulator_binary():
    build = os.environ.get("BUILD_DIR", "build")
    path = os.path.join(build, "personalize-emulator")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    return path


class Emulator:
    def __init__(self, world=None, creds=((AKID, SECRET),), args=(), seed=1, overrides=None,
                 env=None):
        """overrides: top-level keys replaced in the (JSON) world, e.g.
        {"durations": {...}} to slow jobs down and drive them with advance().
        env: variables added to the emulator's environment (e.g. the test
        time scale of include/wallclock.h)."""
        self.env = env
        self.world = world
        self.overrides = overrides
        self.creds = creds
        self.args = list(args)
        self.seed = seed
        self.proc = None
        self.tmp = None
        self.port = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="emu-test-")
        port_file = os.path.join(self.tmp.name, "port")
        self.ledger_path = os.path.join(self.tmp.name, "ledger.jsonl")
        cmd = [emulator_binary(), "--port", "0", "--port-file", port_file,
               "--ledger", self.ledger_path, "--seed", str(self.seed), "--exit-with-parent"]
        if self.world:
            world = self.world if os.path.isabs(self.world) else os.path.join(REPO, self.world)
            if self.overrides:
                with open(world) as f:
                    w = json.load(f)
                w.update(self.overrides)
                world = os.path.join(self.tmp.name, "world.json")
                with open(world, "w") as f:
                    json.dump(w, f)
            cmd += ["--world", world]
        for c in self.creds:
            cmd += ["--cred", ":".join(c)]
        cmd += self.args
        self.log = open(os.path.join(self.tmp.name, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     cwd=REPO, env=dict(os.environ, **self.env)
                                     if self.env else None)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("emulator exited with %d: %s"
                                   % (self.proc.returncode, self.log.read()))
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                break
            time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError("emulator did not write its port file in time")
        self.ready_line = self.proc.stdout.readline().decode().strip()
        self.url = "http://127.0.0.1:%d" % self.port
        self.host = "127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if self.tmp:
            self.log.close()
            self.tmp.cleanup()
            self.tmp = None

    def exit_status(self):
        return self.proc.returncode if self.proc else None

    def admin(self, method, what, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + "/_emulator/" + what, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def advance(self, ms):
        """Move the emulator's job clock forward by ms (no waiting for real time)."""
        st, body = self.admin("POST", "advance", {"ms": ms})
        assert st == 200, body
        return body

    def ledger(self):
        with open(self.ledger_path) as f:
            return [json.loads(line) for line in f if line.strip()]


def install_signal_cleanup():
    """Turn SIGTERM/SIGINT into SystemExit so that `with Emulator()` cleans up."""
    def bye(signum, frame):
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
