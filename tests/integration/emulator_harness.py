"""emulator_harness - start, drive and stop personalize-emulator from a test.

Not a test itself (not executable): the integration tests import it.

    with Emulator(world="tests/emulator/worlds/test.json") as emu:
        emu.url                       # http://127.0.0.1:PORT
        emu.admin("POST", "faults", {"rules": [...]})
        emu.ledger()                  # list of dicts, one per request

The emulator always runs with --port 0 --port-file, and is stopped with
SIGTERM (then SIGKILL after a bound) and reaped, whatever happens.
"""
import datetime
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

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


def pick_anchor(t, scale, lead, period=60):
    """For the test time scale of include/wallclock.h (the clock reads
    anchor + (real - anchor) * scale): an integer anchor within a period
    (seconds, default a minute) before t such that the scaled clock reaches
    a whole period about lead real seconds after t."""
    best = None
    for j in range(period):
        a = int(t) - j
        sc = a + (t - a) * scale
        wait = ((period - sc % period) % period) / scale
        d = abs(wait - lead)
        if best is None or d < best[0]:
            best = (d, a)
    return best[1]


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


def amz_now(offset_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y%m%dT%H%M%SZ")


def raw_call(emu, operation, body, akid=AKID, secret=SECRET, amz_date=None,
             token=None, sign_token=True, region="us-east-1", tamper=False,
             target=None, content_type="application/x-amz-json-1.1"):
    """A request signed by this small SigV4 signer (not botocore's): lets the
    tests send what boto3 never would (old dates, unsigned tokens, ...).
    Returns (status, headers, parsed JSON body or raw text)."""
    payload = json.dumps(body).encode()
    amz_date = amz_date or amz_now()
    headers = {
        "content-type": content_type,
        "host": emu.host,
        "x-amz-date": amz_date,
        "x-amz-target": target or "AmazonPersonalize." + operation,
    }
    if token:
        headers["x-amz-security-token"] = token
    signed = sorted(h for h in headers if sign_token or h != "x-amz-security-token")
    canonical = "\n".join([
        "POST", "/", "",
        "".join("%s:%s\n" % (h, headers[h]) for h in signed),
        ";".join(signed),
        hashlib.sha256(payload).hexdigest(),
    ])
    scope = "%s/%s/personalize/aws4_request" % (amz_date[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, "personalize", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    if tamper:
        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                                % (akid, scope, ";".join(signed), sig))
    req = urllib.request.Request(emu.url + "/", data=payload, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, hdrs, raw = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, dict(e.headers), e.read()
    try:
        return status, hdrs, json.loads(raw)
    except ValueError:
        return status, hdrs, raw.decode(errors="replace")


def install_signal_cleanup():
    """Turn SIGTERM/SIGINT into SystemExit so that `with Emulator()` cleans up."""
    def bye(signum, frame):
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
