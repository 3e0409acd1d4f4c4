"""prtest - shared harness for the daemon's integration tests (not a test
itself: not executable; the daemon_*.py tests import it).

Everything a test starts (emulator, daemons, `once`) is registered and is
SIGKILLed and reaped at exit, whatever happens (atexit, SIGTERM/SIGINT from
tests/run-tests' timeout turned into SystemExit). Every wait is bounded.

    ctx = Ctx("name")                       # a temp dir + the child list
    emu = ctx.emulator(world=..., creds=...) # --port 0 --port-file --ledger
    cfg = ctx.config(emu, datasets=3, campaign=True)
    r = ctx.cli(cfg, "once")                 # -> Result(rc, out, err)
    d = ctx.daemon(cfg, notify=True)         # `run` with a notify socket
    led = Ledger(emu)                        # ledger + world snapshot

Cases are plain functions taking a Ctx; main() runs them (in parallel,
they are mostly waiting on polls), prints each verdict and a final line
"N passed, N failed", and exits 0, 1, or 77 when no case failed but some
were skipped (each skip prints what is missing).
"""
import atexit
import concurrent.futures
import ctypes
import hashlib
import hmac
import json
import os
import random
import re
import select
import struct
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("BUILD_DIR", "build")
if not os.path.isabs(BUILD_DIR):
    BUILD_DIR = os.path.join(REPO, BUILD_DIR)
BIN = os.path.join(BUILD_DIR, "personalize-retrain")
EMULATOR = os.path.join(BUILD_DIR, "personalize-emulator")
WORLD = os.path.join(REPO, "tests", "emulator", "worlds", "test.json")

AKID = "AKIDPRTESTLONGTERM01"
SECRET = "prtest/long/term/secret/0123456789abcdefXYZ"
# Temporary credentials (a session token): the secrets check uses these.
TMP_AKID = "ASIAPRTESTTEMPORARY1"
TMP_SECRET = "prtestTempSecretKey/ABCDEFGHIJ0123456789xyz"
TMP_TOKEN = ("FwoGZXIvYXdzEPRTESTSESSIONTOKEN" + "Zq9" * 40 + "END")

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = "arn:aws:personalize:%s:%s:" % (REGION, ACCOUNT)
ROLE_ARN = "arn:aws:iam::%s:role/PersonalizeS3ImportRole" % ACCOUNT
SOLUTION_ARN = ARN + "solution/my-solution"
CAMPAIGN_ARN = ARN + "campaign/my-campaign"
INITIAL_VERSION = SOLUTION_ARN + "/0a1b2c3d"
# config key pairs per dataset type (as in the world file)
DATASETS = [
    ("INTERACTIONS", "UserInteractionDatasetArn", "S3UserInteractionDatasourcePath"),
    ("USERS", "UserDatasetArn", "S3UserDatasourcePath"),
    ("ITEMS", "ItemDatasetArn", "S3ItemDatasourcePath"),
]

CREATE_OPS = ("CreateDatasetImportJob", "CreateSolutionVersion", "UpdateCampaign",
              "CreateBatchInferenceJob", "CreateBatchSegmentJob")
# A batch job's input (an object of batch_overrides()'s world) and output.
BATCH_INPUT = "s3://prtest-bucket/batch/users.json"
BATCH_OUTPUT = "s3://prtest-bucket/batch/out/"
SEGMENT_RECIPE = "arn:aws:personalize:::recipe/aws-item-affinity"
REJECTED_DUP = ("ResourceAlreadyExistsException", "ResourceInUseException")
# A schedule that never fires on its own during a test (the year 2099).
NEVER = "cron(0 0 1 1 ? 2099)"
EVERY_MINUTE = "cron(* * * * ? *)"

START_TIMEOUT_S = 10
RUN_TIMEOUT_S = 40     # one full retraining run against the emulator, bound
STOP_TIMEOUT_S = 5
# include/wallclock.h's test hook: the process's clock this far off (ms)
CLOCK_OFFSET_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS"
# ... and its test time scale: the clock runs SCALE times as fast from ANCHOR
CLOCK_SCALE_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE"
CLOCK_ANCHOR_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR"

# ---- children: always killed and reaped ------------------------------------

_children = []
_children_lock = threading.Lock()


def _register(p):
    with _children_lock:
        _children.append(p)
    return p


def popen(argv, **kw):
    """subprocess.Popen(argv, **kw) registered like every child here: for a
    process the caller reaps itself (os.wait4 for its rusage, say)."""
    return _register(subprocess.Popen(argv, **kw))


def kill_all():
    with _children_lock:
        procs = list(_children)
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in procs:
        try:
            p.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass


atexit.register(kill_all)


def _bye(signum, frame):
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _bye)
signal.signal(signal.SIGINT, _bye)


class Skip(Exception):
    """A case cannot run here; the message says exactly what is missing."""


class Fail(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_until(pred, timeout, what, step=0.01):
    """Poll pred() until it returns a true value (returned) or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Fail("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


# ---- what the binary offers --------------------------------------------------

_help = None


def help_text():
    global _help
    if _help is None:
        if not os.access(BIN, os.X_OK):
            _help = ""
        else:
            r = subprocess.run([BIN, "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=10)
            _help = r.stdout.decode(errors="replace")
    return _help


def commands():
    """Command names from --help's "Commands:" section (lines "  NAME ...")."""
    out, on = [], False
    for line in help_text().splitlines():
        if line.startswith("Commands:"):
            on = True
            continue
        if on:
            if line and not line.startswith(" "):
                break
            m = re.match(r"^  ([a-z][a-z-]*)(\s|$)", line)
            if m:
                out.append(m.group(1))
    return out


def require_binaries():
    for b in (BIN, EMULATOR):
        if not os.access(b, os.X_OK):
            raise Skip("missing binary %s (build first: make all)" % b)


def require_commands(*names):
    require_binaries()
    have = commands()
    missing = [n for n in names if n not in have]
    if missing:
        raise Skip("missing command(s) %s in personalize-retrain (--help lists: %s)"
                   % (", ".join(missing), ", ".join(have) or "nothing"))


# ---- one case's context ------------------------------------------------------------


class Result:
    def __init__(self, rc, out, err, elapsed):
        self.rc, self.out, self.err, self.elapsed = rc, out, err, elapsed

    def __repr__(self):
        return "exit %s after %.2fs\n--- stdout\n%s--- stderr\n%s" % (
            self.rc, self.elapsed, tail(self.out), tail(self.err))


def tail(text, n=40):
    lines = text.splitlines()
    if len(lines) > n:
        lines = ["... (%d lines cut)" % (len(lines) - n)] + lines[-n:]
    return "".join("  | " + l + "\n" for l in lines)


def wait_exit(p, timeout):
    """p.wait(timeout) without its polling (Popen.wait with a timeout sleeps
    up to 50 ms between looks): blocks on a pidfd of p until it exits.
    Raises subprocess.TimeoutExpired like p.wait."""
    try:
        fd = os.pidfd_open(p.pid)
    except (AttributeError, OSError):   # no pidfd here, or p already reaped
        return p.wait(timeout=timeout)
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(p.args, timeout)
    finally:
        os.close(fd)
    return p.wait()


class Proc:
    """A running personalize-retrain (or anything) with stdout/stderr in files."""

    def __init__(self, ctx, argv, env, name):
        self.ctx, self.argv, self.name = ctx, argv, name
        self.out_path = ctx.path("%s.out" % name)
        self.err_path = ctx.path("%s.err" % name)
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.started = time.monotonic()
        self.p = _register(subprocess.Popen(argv, stdout=self._out, stderr=self._err,
                                            stdin=subprocess.DEVNULL, env=env, cwd=REPO))
        self.pid = self.p.pid

    def poll(self):
        return self.p.poll()

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.p.wait(timeout=STOP_TIMEOUT_S)

    def wait(self, timeout):
        try:
            wait_exit(self.p, timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=STOP_TIMEOUT_S)
            raise Fail("%s did not exit within %ss:\n%s" % (self.name, timeout, self.result()))
        return self.result()

    def out(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def err(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def result(self):
        self._out.flush()
        self._err.flush()
        return Result(self.p.returncode, self.out(), self.err(),
                      time.monotonic() - self.started)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=STOP_TIMEOUT_S)
        self._out.close()
        self._err.close()


class Ctx:
    def __init__(self, name, keep=False):
        self.name = name
        # short: the notify socket's path must fit sockaddr_un (108 bytes)
        self.dir = tempfile.mkdtemp(prefix="prtest-%s-" % name[:24])
        self.procs = []
        self.emus = []
        self.notifiers = []
        self.keep = keep
        self.n = 0
        self.log_lines = []
        # the case's clock: every process it starts runs this far behind
        # (TEST_CLOCK_OFFSET_MS, set by start_at_second)
        self.clock_offset_ms = 0
        self.clock_scale = 1       # scale_clock()
        self.clock_anchor = None

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def now(self):
        """The case's clock: what the processes it starts read."""
        t = time.time()
        if self.clock_scale > 1:
            t = self.clock_anchor + (t - self.clock_anchor) * self.clock_scale
        return t + self.clock_offset_ms / 1000.0

    def real(self, span):
        """A span of the case's clock in real seconds."""
        return span / self.clock_scale

    def start_at_second(self, sec):
        """Instead of waiting for second sec of a minute: from now on every
        process this case starts (env(), so daemon(), spawn(), cli()) has its
        clock set back (PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS, less than
        a minute) so that it reads second sec now; the case reads that clock
        with now(). Behind, never ahead: the emulator's timestamps are never
        older than the daemon's times. Returns now()."""
        ahead = (self.now() - self.clock_offset_ms / 1000.0 - sec) % 60
        self.clock_offset_ms = -int(round(ahead * 1000))
        return self.now()

    def scale_clock(self, scale):
        """Run the case's clock scale times as fast from now (the test time
        scale of include/wallclock.h): every process started from here on
        through env() gets the scale and its anchor, and now(),
        start_at_second() follow. Returns the variables to give the case's
        emulator (env_extra), which dates its resources by the same clock
        (it ignores the offset: the daemons stay behind it)."""
        self.clock_scale = scale
        self.clock_anchor = int(time.time())
        return self.scale_env()

    def scale_env(self):
        if self.clock_scale == 1:
            return {}
        return {CLOCK_SCALE_ENV: str(self.clock_scale),
                CLOCK_ANCHOR_ENV: str(self.clock_anchor)}

    def second_below(self, limit):
        """For a case that must start early in a minute: when the second of
        the case's clock is >= limit, start_at_second(0.3) (the start of a
        minute) rather than waiting for the next one. Returns now()."""
        if self.now() % 60 >= limit:
            return self.start_at_second(0.3)
        return self.now()

    def log(self, fmt, *args):
        self.log_lines.append(fmt % args if args else fmt)

    def close(self):
        for p in self.procs:
            p.close()
        for e in self.emus:
            e.stop()
        for n in self.notifiers:
            n.close()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- emulator
    def emulator(self, world=None, creds=None, seed=1, faults=None, script=None,
                 durations=None, args=(), env_extra=None, overrides=None):
        """durations: merged into the world's; overrides: its top-level keys
        replaced (e.g. {"solutions": [...]})."""
        e = Emulator(self, world=world, creds=creds, seed=seed, durations=durations, args=args,
                     env_extra=env_extra, overrides=overrides)
        self.emus.append(e)
        e.start()
        if faults:
            e.faults(faults)
        if script:
            e.script(script)
        return e

    # -- config
    def config(self, emu, datasets=3, campaign=True, schedule=NEVER, poll=1,
               extra=None, name=None, fmt="cfg"):
        """A config for emu (None: no emulator; give extra's EndpointUrl)."""
        self.n += 1
        path = self.path(name or "params-%d.cfg" % self.n)
        keys = [("PipelineName", PIPELINE), ("ImportRoleArn", ROLE_ARN),
                ("SolutionArn", SOLUTION_ARN)]
        for t, arn_key, s3_key in DATASETS[:datasets]:
            keys.append((arn_key, ARN + "dataset/my-dataset-group/" + t))
            keys.append((s3_key, "s3://prtest-bucket/%s.csv" % t.lower()))
        if campaign:
            keys.append(("CampaignArn", CAMPAIGN_ARN))
        keys += [("RetrainingRate", schedule), ("PollInterval", str(poll)),
                 ("Region", REGION), ("EndpointUrl", emu.url if emu else ""),
                 ("MaxRunDuration", "120")]
        for k, v in (extra or {}).items():
            keys = [kv for kv in keys if kv[0] != k]
            if v is not None:
                keys.append((k, v))
        with open(path, "w") as f:
            f.write("# written by tests/integration/prtest.py\n")
            for k, v in keys:
                f.write("%s=%s\n" % (k, v))
        if emu and os.environ.get("PRTEST_POLICY") == "1":
            emu.enforce_config(path)
        return path

    def state_dir(self, name="state"):
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        return d

    # -- personalize-retrain
    def env(self, temporary=False, notify=None, extra=None):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.path("home"),
            "LANG": "C",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": self.path("home", "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": self.path("home", "no-aws-credentials"),
        }
        os.makedirs(env["HOME"], exist_ok=True)
        if temporary:
            env.update(AWS_ACCESS_KEY_ID=TMP_AKID, AWS_SECRET_ACCESS_KEY=TMP_SECRET,
                       AWS_SESSION_TOKEN=TMP_TOKEN)
        else:
            env.update(AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET)
        if notify:
            env["NOTIFY_SOCKET"] = notify.addr
        if self.clock_offset_ms:
            env[CLOCK_OFFSET_ENV] = str(self.clock_offset_ms)
        env.update(self.scale_env())
        env.update(extra or {})
        return env

    def argv(self, cfg, state_dir, args, log_level="debug"):
        argv = [BIN, "-c", cfg]
        if state_dir:
            argv += ["--state-dir", state_dir]
        if log_level:
            argv += ["--log-level", log_level]
        return argv + list(args)

    def spawn(self, cfg, state_dir, *args, log_level="debug", env=None, name=None,
              wrapper=None):
        self.n += 1
        argv = self.argv(cfg, state_dir, args, log_level)
        if wrapper:
            argv = list(wrapper) + argv
        p = Proc(self, argv, env or self.env(), name or "%s-%d" % (args[0], self.n))
        self.procs.append(p)
        return p

    def start(self, argv, env=None, name=None):
        """Any program (argv, run from the top of the tree) as a Proc of this
        case: its output in files, killed and reaped with the case."""
        self.n += 1
        p = Proc(self, argv, env or self.env(),
                 name or "%s-%d" % (os.path.basename(argv[0]), self.n))
        self.procs.append(p)
        return p

    def cli(self, cfg, state_dir, *args, timeout=RUN_TIMEOUT_S, **kw):
        """Run a command to its end (bounded); -> Result."""
        return self.spawn(cfg, state_dir, *args, **kw).wait(timeout)

    def notify_socket(self):
        n = NotifySocket(self.path("notify-%d.sock" % (len(self.notifiers) + 1)))
        self.notifiers.append(n)
        return n

    def daemon(self, cfg, state_dir, notify=True, wait_ready=True, env_extra=None,
               name=None, log_level="debug"):
        """Start `run`; with notify, wait for READY=1 (bounded)."""
        ns = self.notify_socket() if notify else None
        p = self.spawn(cfg, state_dir, "run", env=self.env(notify=ns, extra=env_extra),
                       name=name, log_level=log_level)
        p.notify = ns
        if ns and wait_ready:
            try:
                ns.wait_for(lambda m: m.get("READY") == "1", START_TIMEOUT_S, "READY=1")
            except Fail as e:
                raise Fail("%s\n%s" % (e, p.result()))
        return p


# ---- systemd notify socket -----------------------------------------------------------


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET; every
    datagram is parsed into a dict of its KEY=VALUE lines and kept."""

    def __init__(self, path):
        self.addr = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)   # read after select(), under self.cond
        self.msgs = []      # (monotonic time, dict)
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.closed:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.05)
            except (OSError, ValueError):
                break
            if ready:
                with self.cond:
                    if not self._drain_locked():
                        break

    def _drain_locked(self):
        """Take every datagram waiting in the socket (self.cond held): both
        the reader thread and messages() read only here, so a caller that
        looks after the process exited sees everything it sent. False once
        the socket is closed."""
        got = False
        while True:
            try:
                data = self.sock.recv(65536, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError, socket.timeout):
                break
            except OSError:
                return False
            d = {}
            for line in data.decode(errors="replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    d[k] = v
            self.msgs.append((time.monotonic(), d))
            got = True
        if got:
            self.cond.notify_all()
        return True

    def messages(self):
        with self.cond:
            if not self.closed:
                self._drain_locked()
            return [d for _, d in self.msgs]

    def statuses(self):
        return [d["STATUS"] for d in self.messages() if "STATUS" in d]

    def arrivals(self, pred):
        """When (time.monotonic() on arrival) each message for which
        pred(dict) holds came."""
        with self.cond:
            if not self.closed:
                self._drain_locked()
            return [t for t, d in self.msgs if pred(d)]

    def wait_for(self, pred, timeout, what, since=0):
        """Wait for a message (index >= since) for which pred(dict) holds;
        returns its index."""
        deadline = time.monotonic() + timeout
        with self.cond:
            i = since
            while True:
                while i < len(self.msgs):
                    if pred(self.msgs[i][1]):
                        return i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Fail("no notify message %s within %.1fs (got: %s)"
                               % (what, timeout, [d for _, d in self.msgs][-12:]))
                self.cond.wait(left)

    def count(self):
        with self.cond:
            return len(self.msgs)

    def close(self):
        self.closed = True
        self.thread.join(timeout=1)
        self.sock.close()
        try:
            os.unlink(self.addr)
        except OSError:
            pass


# ---- the emulator ------------------------------------------------------------------------

_emu_help = None


def emulator_help():
    global _emu_help
    if _emu_help is None:
        r = subprocess.run([EMULATOR, "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        _emu_help = r.stdout.decode(errors="replace")
    return _emu_help



class Emulator:
    def __init__(self, ctx, world=None, creds=None, seed=1, durations=None, args=(),
                 env_extra=None, overrides=None):
        self.args = list(args)
        # added to the inherited environment (the test time scale's variables)
        self.env = dict(os.environ, **env_extra) if env_extra else None
        self.ctx = ctx
        self.world = world or WORLD
        if durations or overrides:
            with open(self.world) as f:
                w = json.load(f)
            w["durations"].update(durations or {})
            w.update(overrides or {})
            self.world = ctx.path("world-%d.json" % (len(ctx.emus) + 1))
            with open(self.world, "w") as f:
                json.dump(w, f)
        self.creds = creds or [(AKID, SECRET), (TMP_AKID, TMP_SECRET, TMP_TOKEN)]
        self.seed = seed
        self.proc = None

    def start(self):
        i = len(self.ctx.emus)
        port_file = self.ctx.path("emu-%d.port" % i)
        self.ledger_path = self.ctx.path("emu-%d.ledger" % i)
        self.err_path = self.ctx.path("emu-%d.err" % i)
        argv = [EMULATOR, "--port", "0", "--port-file", port_file, "--ledger",
                self.ledger_path, "--seed", str(self.seed), "--world", self.world]
        if "--exit-with-parent" in emulator_help():
            argv.append("--exit-with-parent")
        argv += self.args
        for c in self.creds:
            argv += ["--cred", ":".join(c)]
        self._err = open(self.err_path, "wb")
        self.out_path = self.ctx.path("emu-%d.out" % i)
        with open(self.out_path, "wb") as out:
            self.proc = _register(subprocess.Popen(argv, stdout=out, stderr=self._err,
                                                   cwd=REPO, env=self.env))

        def ready():
            if self.proc.poll() is not None:
                with open(self.err_path) as f:
                    raise Fail("emulator exited with %d: %s" % (self.proc.returncode, f.read()))
            try:
                with open(port_file) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                return None
        self.port = wait_until(ready, START_TIMEOUT_S, "the emulator's port file")
        self.url = "http://127.0.0.1:%d" % self.port
        self.host = "127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._err.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def exit_status(self):
        """The emulator's exit status once stopped (None while it runs)."""
        return self.proc.returncode if self.proc else None

    def ready_line(self):
        """The line the emulator prints on stdout once it serves."""
        def line():
            with open(self.out_path, "rb") as f:
                text = f.read().decode(errors="replace")
            return text.split("\n", 1)[0] if "\n" in text else None
        return wait_until(line, START_TIMEOUT_S, "the emulator's ready line")

    def admin_status(self, method, what, body=None):
        """An admin call (/_emulator/WHAT) -> (HTTP status, parsed body),
        whatever the status."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + "/_emulator/" + what, data=data,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"null")
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def admin(self, method, what, body=None):
        """An admin call -> its parsed body; an error status fails the case."""
        status, reply = self.admin_status(method, what, body)
        if status >= 400:
            raise Fail("emulator admin %s %s: %d %s" % (method, what, status, reply))
        return reply

    def advance(self, ms):
        """Move the emulator's job clock forward by ms (no waiting for real time)."""
        return self.admin("POST", "advance", {"ms": ms})

    def enforce(self, policy, akid=None):
        """Enforce an identity policy (a dict; None removes it) on akid's
        requests, or on every key's without akid."""
        body = {"policy": policy}
        if akid:
            body["accessKeyId"] = akid
        return self.admin("POST", "policy", body)

    def enforce_config(self, cfg):
        """Enforce what `policy` prints for cfg, together with what it
        printed for the configs enforced before on this emulator (the union
        of their statements: each config keeps exactly what it needs)."""
        self.policy_statements = getattr(self, "policy_statements", []) + \
            printed_policy(cfg)["Statement"]
        return self.enforce({"Version": "2012-10-17", "Statement": self.policy_statements})

    def denials(self):
        """The ledger's requests an identity policy refused."""
        return [e for e in self.ledger_lines()
                if e.get("error") in ("AccessDeniedException", "AccessDenied")]

    def faults(self, rules, seed=None):
        spec = {"rules": rules}
        if seed is not None:
            spec["seed"] = seed
        return self.admin("POST", "faults", spec)

    def script(self, script):
        return self.admin("POST", "script", script)

    def state(self):
        return self.admin("GET", "state")["world"]

    def ledger_lines(self):
        with open(self.ledger_path, "rb") as f:
            data = f.read().decode(errors="replace")
        # only whole lines: the emulator may be writing the last one
        return [json.loads(l) for l in data.split("\n")[:-1] if l.strip()]

    def ledger_text(self):
        with open(self.ledger_path, "rb") as f:
            return f.read().decode(errors="replace")


def new_version_metrics(metrics):
    """World overrides (Ctx.emulator(overrides=...)) under which the
    solution's new versions get these metrics ({name: value})."""
    with open(WORLD) as f:
        sols = json.load(f)["solutions"]
    sols[0]["newVersionMetrics"] = [metrics]
    return {"solutions": sols}


def batch_overrides(recipe=None, overrides=None):
    """World overrides (Ctx.emulator(overrides=...)) with BATCH_INPUT among
    the world's S3 objects and, with recipe, the solution's recipeArn (a
    segmentation recipe takes batch segment jobs only); added to overrides."""
    with open(WORLD) as f:
        w = json.load(f)
    out = dict(overrides or {})
    objs = list(out.get("s3Objects", w.get("s3Objects", [])))
    objs.append({"uri": BATCH_INPUT, "etag": "\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\"",
                 "lastModified": "2026-11-20T10:00:00Z", "size": 512})
    out["s3Objects"] = objs
    if recipe:
        sols = out.get("solutions", w["solutions"])
        sols[0]["recipeArn"] = recipe
        out["solutions"] = sols
    return out


def batch_keys(segment=False):
    """Config keys (Ctx.config(extra=...)) for a batch job after training."""
    kind = "Segment" if segment else "Inference"
    return {"Batch%sInput" % kind: BATCH_INPUT, "Batch%sOutput" % kind: BATCH_OUTPUT}


def printed_policy(cfg, *args):
    """What `personalize-retrain -c cfg policy ARGS` prints, parsed."""
    r = subprocess.run([BIN, "-c", cfg, "policy"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)
    if r.returncode != 0:
        raise Fail("policy for %s: exit %d: %s" % (cfg, r.returncode, r.stderr.decode()))
    return json.loads(r.stdout)


# ---- what the ledger and the world say --------------------------------------------------

NAME_RE = re.compile(r"-(\d{8}T\d{4})-(.+)$")


def executed(e):
    """True when the emulator ran the call successfully, whatever the client
    then got: the ledger's resultArn is set exactly when the operation ran
    and succeeded, even if a fault (phase "after", truncated, cut, slow) then
    hid the answer; a fault with phase "before" stands in for the service
    and the operation does not run (tests/emulator/README.md)."""
    return bool(e.get("signatureOk")) and bool(e.get("resultArn"))


def answered(lines, op):
    """The ledger lines (Emulator.ledger_lines()) of requests of op that
    were answered 200."""
    return [e for e in lines if e["operation"] == op and e["status"] == 200]


class Ledger:
    """One snapshot of the emulator's ledger and world, and the counts the
    tests assert on.

    What is counted:
      - imports[dataset type]: import jobs that exist in the world on that
        dataset (every successful CreateDatasetImportJob made one; the world
        never holds two with one name);
      - versions: solution versions of the solution created during the test
        (the world's initial one excluded);
      - updates: UpdateCampaign calls the emulator executed (status 200);
      - rejected: creates answered ResourceAlreadyExists / ResourceInUse
        (a create repeated for a job that already existed, or a second job
        tried while one was running);
      - fire tags: the <YYYYMMDDTHHMM> part of the job names, so that
        counts can be given per fire time."""

    def __init__(self, emu):
        self.lines = emu.ledger_lines()
        self.world = emu.state()
        self.jobs = self.world["datasetImportJobs"]
        self.versions = [v for v in self.world["solutionVersions"]
                         if v["solutionVersionArn"] != INITIAL_VERSION]
        self.version_name = {v["solutionVersionArn"]: v.get("name") for v in self.versions}
        self.campaign = next((c for c in self.world["campaigns"]
                              if c["campaignArn"] == CAMPAIGN_ARN), None)
        self.batch_jobs = (self.world.get("batchInferenceJobs", []) +
                           self.world.get("batchSegmentJobs", []))

    def ops(self, op):
        return [e for e in self.lines if e["operation"] == op]

    def count_ops(self):
        c = {}
        for e in self.lines:
            c[e["operation"]] = c.get(e["operation"], 0) + 1
        return c

    def imports_by_type(self):
        out = {}
        for j in self.jobs:
            t = j["datasetArn"].rsplit("/", 1)[1]
            out.setdefault(t, []).append(j)
        return out

    def updates(self):
        return [e for e in self.ops("UpdateCampaign") if executed(e)]

    def rejected(self):
        return [e for e in self.lines if e["operation"] in CREATE_OPS
                and e.get("error") in REJECTED_DUP]

    def unsigned(self):
        return [e for e in self.lines if e.get("signatureOk") is False]

    def fire_tags(self):
        tags = set()
        for j in self.jobs:
            m = NAME_RE.search(j["jobName"])
            tags.add(m.group(1) if m else "?" + j["jobName"])
        for v in self.versions:
            m = NAME_RE.search(v.get("name") or "")
            tags.add(m.group(1) if m else "?%s" % v.get("name"))
        return tags

    def per_fire(self):
        """{tag: {"imports": {type: n}, "versions": n, "updates": n}}"""
        out = {}

        def slot(tag):
            return out.setdefault(tag, {"imports": {}, "versions": 0, "updates": 0})
        for j in self.jobs:
            m = NAME_RE.search(j["jobName"])
            t = j["datasetArn"].rsplit("/", 1)[1]
            s = slot(m.group(1) if m else "?")
            s["imports"][t] = s["imports"].get(t, 0) + 1
        for v in self.versions:
            m = NAME_RE.search(v.get("name") or "")
            slot(m.group(1) if m else "?")["versions"] += 1
        for e in self.updates():
            name = self.version_name.get(e["params"].get("solutionVersionArn"), "")
            m = NAME_RE.search(name or "")
            slot(m.group(1) if m else "?")["updates"] += 1
        return out

    def summary(self):
        return ("ops %s; imports %s; versions %s; updates %d; rejected %s"
                % (self.count_ops(),
                   {t: [j["jobName"] + ":" + j["status"] for j in js]
                    for t, js in self.imports_by_type().items()},
                   [(v.get("name"), v["status"]) for v in self.versions],
                   len(self.updates()),
                   [(e["operation"], e["error"]) for e in self.rejected()]))

    def assert_one_run(self, datasets=3, campaign=True, rejected_ok=False,
                       version_status="ACTIVE", deployed=True, bad_signatures_ok=False):
        """Exactly one import per dataset, one version, one update (or none
        without a campaign), all for one fire time; nothing rejected unless
        rejected_ok; the campaign serves the new version when deployed."""
        s = self.summary()
        by_type = self.imports_by_type()
        want_types = [t for t, _, _ in DATASETS[:datasets]]
        check(sorted(by_type) == sorted(want_types), "import jobs on %s, want one on each of %s: %s"
              % (sorted(by_type), want_types, s))
        for t in want_types:
            check(len(by_type[t]) == 1, "%d import jobs on %s, want 1: %s" % (len(by_type[t]), t, s))
        check(len(self.fire_tags()) == 1, "jobs of several fire times %s: %s" % (self.fire_tags(), s))
        if version_status is None:
            check(len(self.versions) == 0, "a solution version was created: %s" % s)
        else:
            check(len(self.versions) == 1, "%d solution versions, want 1: %s" % (len(self.versions), s))
            check(self.versions[0]["status"] == version_status,
                  "version status %s, want %s: %s" % (self.versions[0]["status"], version_status, s))
        n_upd = len(self.updates())
        if campaign and version_status == "ACTIVE":
            check(n_upd == 1, "%d UpdateCampaign executed, want 1: %s" % (n_upd, s))
            if deployed:
                v = self.versions[0]["solutionVersionArn"]
                check(self.campaign["solutionVersionArn"] == v,
                      "the campaign serves %s, not the new version %s"
                      % (self.campaign["solutionVersionArn"], v))
        else:
            check(n_upd == 0, "%d UpdateCampaign executed, want 0: %s" % (n_upd, s))
        if not rejected_ok:
            check(not self.rejected(), "rejected duplicate creates: %s" % s)
        if not bad_signatures_ok:
            check(not self.unsigned(), "requests with a bad signature: %s" % self.unsigned()[:3])


# ---- the state directory -------------------------------------------------------------------


def state_files(state_dir):
    return sorted(f for f in os.listdir(state_dir) if f.endswith(".json"))


def read_state(state_dir, pipeline=None):
    files = state_files(state_dir)
    if pipeline:
        files = [f for f in files if f == pipeline + ".json"]
    if not files:
        return None
    with open(os.path.join(state_dir, files[0])) as f:
        return json.load(f)


def run_finished(st):
    """The state records a finished run and none in progress (a run whose
    stage is "done" still in "run" is finished: the next load moves it to
    the history)."""
    if not st:
        return False
    run = st.get("run")
    return bool(st.get("history")) and not run or bool(run and run.get("stage") == "done")


def last_outcome(state_dir):
    st = read_state(state_dir)
    if st and st.get("run") and st["run"].get("stage") == "done":
        return st["run"].get("outcome")
    if not st or not st.get("history"):
        return None
    return st["history"][0].get("outcome")


# Where the tests keep the pipeline's state: PipelineName is set explicitly.
PIPELINE = "prtest"


STAGE_RANK = {"importing": 1, "training": 2, "deploying": 3, "batch": 3.5, "done": 4}
TERMINAL = ("ACTIVE", "CREATE FAILED", "FAILED", "STOPPED")


def fire_tag(t):
    """Epoch seconds -> "20261125T1345", the fire-time part of job names."""
    return time.strftime("%Y%m%dT%H%M", time.gmtime(t))


def tag_of_iso(iso):
    """"2026-11-25T13:45:00Z" -> "20261125T1345" (the job names' form)."""
    return iso[0:4] + iso[5:7] + iso[8:10] + "T" + iso[11:13] + iso[14:16]


def history_by_tag(state_dir, pipeline=None):
    """The state file's history entries by fire-time tag ({} if none)."""
    st = read_state(state_dir, pipeline) or {}
    return {tag_of_iso(h["fire_time"]): h for h in st.get("history") or []
            if h.get("fire_time")}


def state_progress(st):
    """A measure of a run's progress that only grows: finished runs, then
    stage, ARNs known, slots in a terminal status. (A restarted process
    re-saves the run with phases creating/finding: not progress.)"""
    if st is None:
        return (0, 0, 0, 0)
    hist = len(st.get("history") or [])
    run = st.get("run")
    if not run:
        return (hist, 0, 0, 0)
    slots = list(run.get("imports") or [])
    for k in ("version", "campaign"):
        if run.get(k):
            slots.append(run[k])
    if (run.get("batch") or {}).get("job"):
        slots.append(run["batch"]["job"])
    arns = sum(1 for s in slots if s.get("arn") and s.get("phase") != "pending")
    term = sum(1 for s in slots if s.get("status") in TERMINAL)
    return (hist, STAGE_RANK.get(run.get("stage"), 0), arns, term)


def seed_catchup_state(state_dir, last_fire="2025-01-01T00:00:00Z", pipeline=PIPELINE):
    """A version-1 state file (the schema of include/state.h) that says the
    pipeline last ran at last_fire: with CatchUp=yes, `run` starts a run at
    once for the schedule's latest fire time (what a daemon does after being
    down over a fire time)."""
    st = {"version": 1, "pipeline": pipeline, "last_fire": last_fire,
          "campaign": {"previous_version": "", "current_version": ""},
          "run": None, "history": []}
    path = os.path.join(state_dir, pipeline + ".json")
    with open(path + ".seed", "w") as f:
        json.dump(st, f, indent=2)
    os.rename(path + ".seed", path)
    return path


class DirWatch:
    """inotify on a state directory: every file renamed into it or closed
    after writing whose name ends in suffix (atomic saves) is one event."""
    IN_CLOSE_WRITE = 0x08
    IN_MOVED_TO = 0x80

    def __init__(self, path, suffix=".json"):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise Skip("inotify_init1 failed (errno %d): cannot watch state saves"
                       % ctypes.get_errno())
        if self.libc.inotify_add_watch(self.fd, os.fsencode(path),
                                       self.IN_MOVED_TO | self.IN_CLOSE_WRITE) < 0:
            os.close(self.fd)
            raise Skip("inotify_add_watch %s failed (errno %d)" % (path, ctypes.get_errno()))
        self.suffix = suffix
        self.saves = 0

    def poll(self, timeout):
        """Wait up to timeout seconds; returns the number of new saves."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return 0
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return 0
        n, i = 0, 0
        while i + 16 <= len(data):
            wd, mask, cookie, ln = struct.unpack_from("iIII", data, i)
            name = data[i + 16:i + 16 + ln].split(b"\0", 1)[0].decode(errors="replace")
            i += 16 + ln
            if name.endswith(self.suffix) and not name.startswith(".") and \
                    (mask & self.IN_MOVED_TO or ".tmp" not in name):
                n += 1
        self.saves += n
        return n

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# ---- clocks and raw requests ------------------------------------------------------------


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


def amz_now(offset_s=0):
    """X-Amz-Date for now plus offset_s seconds."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + offset_s))


def raw_call(emu, operation, body, akid=None, secret=None, amz_date=None,
             token=None, sign_token=True, region=REGION, tamper=False,
             target=None, content_type="application/x-amz-json-1.1"):
    """A Personalize request signed by this small SigV4 signer (not
    botocore's): lets the tests send what an SDK never would (old dates,
    unsigned tokens, a tampered signature, ...). akid/secret default to
    the emulator's first credential. Returns (status, headers, parsed JSON
    body or raw text)."""
    akid = akid or emu.creds[0][0]
    secret = secret or emu.creds[0][1]
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


# ---- running the cases ----------------------------------------------------------------------


def main(cases, parallel=3, keep_env="PRTEST_KEEP"):
    """Run cases [(name, fn)] (fn(ctx)); print one verdict per case, the
    details of failures, and "N passed, N failed"; exit 0/1/77.
    PRTEST_ONLY=substr runs only matching cases; PRTEST_KEEP=1 keeps the
    temp dirs of failed cases; PRTEST_POLICY=1 makes every emulator enforce
    the policy `personalize-retrain policy` prints for the configs written
    with Ctx.config, and fails a case whose ledger holds a denial."""
    only = os.environ.get("PRTEST_ONLY")
    if only:
        cases = [c for c in cases if only in c[0]]
    keep = bool(os.environ.get(keep_env))
    results = {}

    def one(case):
        name, fn = case
        ctx = Ctx(re.sub(r"[^A-Za-z0-9_-]", "_", name))
        t0 = time.monotonic()
        try:
            fn(ctx)
            if os.environ.get("PRTEST_POLICY") == "1":
                for e in ctx.emus:
                    d = e.denials()
                    check(not d, "PRTEST_POLICY=1: the printed policy denied %d request(s): %s"
                          % (len(d), [(x["operation"], x.get("params")) for x in d[:5]]))
            verdict, detail = "PASS", ""
        except Skip as e:
            verdict, detail = "SKIP", str(e)
        except Exception as e:   # Fail, or a harness error: both fail the case
            verdict = "FAIL"
            detail = ("%s\n" % e) if isinstance(e, Fail) else traceback.format_exc()
            ctx.keep = keep
            if keep:
                detail += "(kept %s)\n" % ctx.dir
        finally:
            try:
                ctx.close()
            except Exception:
                pass
        dt = time.monotonic() - t0
        return name, verdict, detail, dt, ctx.log_lines

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel)) as ex:
        for name, verdict, detail, dt, notes in ex.map(one, cases):
            results[name] = verdict
            print("%s: %s (%.1fs)%s" % (verdict, name, dt,
                                        (" - " + detail.strip()) if verdict == "SKIP" else ""))
            for n in notes:
                print("    " + n)
            if verdict == "FAIL":
                print(detail.rstrip())
            sys.stdout.flush()
    passed = sum(1 for v in results.values() if v == "PASS")
    failed = sum(1 for v in results.values() if v == "FAIL")
    skipped = sum(1 for v in results.values() if v == "SKIP")
    print("%d passed, %d failed%s" % (passed, failed,
                                      " (%d skipped)" % skipped if skipped else ""))
    kill_all()
    if failed:
        sys.exit(1)
    if skipped:
        sys.exit(77)
    sys.exit(0)


def rng(seed_env="PRTEST_SEED", default=None):
    seed = int(os.environ.get(seed_env, default if default is not None else 20261125))
    return random.Random(seed), seed
