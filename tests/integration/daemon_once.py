#!/usr/bin/env python3
# run-tests: duration=7
"""daemon_once - `once`, `once --dry-run`, `status --json` and `run` against
the real emulator (tests/emulator/worlds/test.json, fast durations).

- once, happy path with 1, 2 and 3 datasets, with and without a campaign
  (six cases, each with its own emulator and state directory, run side by
  side): exit 0, and the ledger shows exactly one CreateDatasetImportJob per
  configured dataset, one CreateSolutionVersion, one UpdateCampaign (none
  without a campaign); status --json then says idle, last run succeeded;
  a second `once` in the same minute creates nothing new.
- once --dry-run: prints the calls with their JSON bodies, makes none.
- run: READY=1 on a NOTIFY_SOCKET of our own with STATUS "idle, next run
  ...", then SIGTERM: STOPPING=1 and exit 0 within a second.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_harness import AKID, SECRET, REPO, Emulator, install_signal_cleanup  # noqa: E402

WORLD = "tests/emulator/worlds/test.json"
ONCE_TIMEOUT_S = 60
ACCOUNT = "arn:aws:personalize:us-east-1:123456789012"
DATASETS = [
    ("UserDatasetArn", "S3UserDatasourcePath", "USERS", "users"),
    ("ItemDatasetArn", "S3ItemDatasourcePath", "ITEMS", "items"),
    ("UserInteractionDatasetArn", "S3UserInteractionDatasourcePath",
     "INTERACTIONS", "interactions"),
]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def binary():
    build = os.environ.get("BUILD_DIR", "build")
    path = os.path.join(build, "personalize-retrain")
    return path if os.path.isabs(path) else os.path.join(REPO, path)


def write_config(path, emu_url, n_datasets, campaign, name, extra=()):
    lines = [
        "PipelineName=" + name,
        "ImportRoleArn=arn:aws:iam::123456789012:role/PersonalizeS3ImportRole",
        "SolutionArn=%s:solution/my-solution" % ACCOUNT,
    ]
    for key, s3key, typ, low in DATASETS[:n_datasets]:
        lines.append("%s=%s:dataset/my-dataset-group/%s" % (key, ACCOUNT, typ))
        lines.append("%s=s3://bucket/%s.csv" % (s3key, low))
    if campaign:
        lines.append("CampaignArn=%s:campaign/my-campaign" % ACCOUNT)
    lines += ["RetrainingRate=rate(1 day)", "PollInterval=1",
              "EndpointUrl=" + emu_url]
    lines += list(extra)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def env():
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("AWS_") or k in ("NOTIFY_SOCKET", "WATCHDOG_USEC",
                                         "CREDENTIALS_DIRECTORY",
                                         "STATE_DIRECTORY", "JOURNAL_STREAM"):
            del e[k]
    e["AWS_ACCESS_KEY_ID"] = AKID
    e["AWS_SECRET_ACCESS_KEY"] = SECRET
    e["AWS_EC2_METADATA_DISABLED"] = "true"
    e["HOME"] = "/nonexistent"
    return e


def cli(cfg, state, *args, timeout=ONCE_TIMEOUT_S, extra_env=None):
    e = env()
    if extra_env:
        e.update(extra_env)
    p = subprocess.run([binary(), "-c", cfg, "--state-dir", state] + list(args),
                       capture_output=True, text=True, timeout=timeout, env=e,
                       cwd=REPO)
    return p.returncode, p.stdout, p.stderr


def count(ledger, op):
    return [x for x in ledger if x["operation"] == op]


def once_case(n_datasets, campaign):
    label = "once %d dataset(s) %s campaign" % (n_datasets, "with" if campaign else "without")
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-once-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, n_datasets, campaign, "case%d%s" % (n_datasets, "c" if campaign else ""))
        first_minute = int(time.time()) // 60
        rc, out, err = cli(cfg, state, "once")
        if rc != 0:
            fail("%s: exit %d, want 0\n%s" % (label, rc, err))
            return
        led = emu.ledger()
        imports = count(led, "CreateDatasetImportJob")
        ok_imports = [x for x in imports if x["status"] == 200]
        arns = sorted(x["params"]["datasetArn"] for x in ok_imports)
        want = sorted("%s:dataset/my-dataset-group/%s" % (ACCOUNT, d[2]) for d in DATASETS[:n_datasets])
        if arns != want:
            fail("%s: imports for %s, want one each for %s" % (label, arns, want))
        versions = [x for x in count(led, "CreateSolutionVersion") if x["status"] == 200]
        if len(versions) != 1:
            fail("%s: %d CreateSolutionVersion, want 1" % (label, len(versions)))
        updates = [x for x in count(led, "UpdateCampaign") if x["status"] == 200]
        if len(updates) != (1 if campaign else 0):
            fail("%s: %d UpdateCampaign, want %d" % (label, len(updates), 1 if campaign else 0))
        elif campaign and versions and updates[0]["params"].get("solutionVersionArn") != versions[0].get("resultArn"):
            fail("%s: UpdateCampaign deployed %s, not the new version %s"
                 % (label, updates[0]["params"].get("solutionVersionArn"), versions[0].get("resultArn")))
        if campaign and updates:
            # the campaign is described once before the update (the run's
            # look, which is also the late-host pre-check), not twice
            ops = [x["operation"] for x in led]
            i = ops.index("UpdateCampaign")
            j = max(k for k in range(i) if ops[k] == "DescribeSolutionVersion")
            if ops[j + 1:i] != ["DescribeCampaign"]:
                fail("%s: between training and UpdateCampaign: %s, want one DescribeCampaign"
                     % (label, ops[j + 1:i]))
        if any(x.get("signatureOk") is False for x in led):
            fail("%s: a request with a bad signature" % label)
        # status --json
        rc, out, err = cli(cfg, state, "status", "--json", timeout=10)
        if rc != 0:
            fail("%s: status --json exit %d: %s" % (label, rc, err))
        else:
            try:
                st = json.loads(out)
                p = st["pipelines"][0]
                if p["stage"] != "idle":
                    fail("%s: status stage %s, want idle" % (label, p["stage"]))
                if not p["history"] or p["history"][0]["outcome"] != "succeeded":
                    fail("%s: status history %s" % (label, p["history"]))
                elif p["history"][0]["duration_s"] is None:
                    fail("%s: no duration in the history" % label)
                if not p["next_fire"]:
                    fail("%s: no next_fire" % label)
            except (ValueError, KeyError, IndexError) as e:
                fail("%s: status --json unparsable (%s): %s" % (label, e, out[:300]))
        # the same minute again: the jobs exist by name; nothing new is created
        n_creates = len([x for x in emu.ledger() if x["operation"].startswith("Create") and x["status"] == 200])
        m0 = int(time.time()) // 60
        rc, out, err = cli(cfg, state, "once")
        m1 = int(time.time()) // 60
        n2 = len([x for x in emu.ledger() if x["operation"].startswith("Create") and x["status"] == 200])
        if rc != 0:
            fail("%s: second once exit %d\n%s" % (label, rc, err))
        if m0 == m1 and m0 == first_minute and n2 != n_creates:
            fail("%s: a second once in the same minute created %d new job(s)" % (label, n2 - n_creates))
        print("ok   %s (%d calls)" % (label, len(led)), flush=True)


def dry_run():
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-dry-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, 2, True, "dry")
        rc, out, err = cli(cfg, state, "once", "--dry-run", timeout=10)
        if rc != 0:
            fail("once --dry-run: exit %d: %s" % (rc, err))
        for want in ('CreateDatasetImportJob', '"jobName":', '"dataLocation":\t"s3://bucket/users.csv"',
                     'CreateSolutionVersion', 'UpdateCampaign', '"campaignArn":'):
            if want not in out:
                fail("once --dry-run output lacks %r:\n%s" % (want, out))
        if emu.ledger():
            fail("once --dry-run made %d call(s)" % len(emu.ledger()))
        if os.listdir(state):
            fail("once --dry-run wrote into the state directory: %s" % os.listdir(state))
        print("ok   once --dry-run", flush=True)


def run_ready_and_term():
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-run-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, 1, True, "runner")
        sock_path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(0.2)
        e = env()
        e["NOTIFY_SOCKET"] = sock_path
        proc = subprocess.Popen([binary(), "-c", cfg, "--state-dir", state, "run"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=e, cwd=REPO)
        msgs = []
        try:
            deadline = time.monotonic() + 10
            ready = False
            while time.monotonic() < deadline and not ready:
                try:
                    m = sock.recv(4096).decode()
                except socket.timeout:
                    if proc.poll() is not None:
                        break
                    continue
                msgs.append(m)
                ready = "READY=1" in m.split("\n")
            if not ready:
                fail("run: no READY=1 within 10 s; got %r" % msgs)
                return
            status = [line for m in msgs for line in m.split("\n") if line.startswith("STATUS=")]
            if not status or not status[-1].startswith("STATUS=idle, next run "):
                fail("run: STATUS at READY is %r, want 'idle, next run ...'" % status)
            # a second daemon on the same state directory is refused
            rc, out, err = cli(cfg, state, "run", timeout=10)
            if rc != 78 or "in use" not in err:
                fail("second run on one state directory: exit %d, stderr %r" % (rc, err))
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                fail("run: still running 5 s after SIGTERM")
                return
            took = time.monotonic() - t0
            if took > 1.0:
                fail("run: exit took %.2f s after SIGTERM, want within a second" % took)
            if rc != 0:
                fail("run: exit %d after SIGTERM, want 0" % rc)
            try:
                while True:
                    msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
            if not any("STOPPING=1" in m.split("\n") for m in msgs):
                fail("run: no STOPPING=1 after SIGTERM")
            print("ok   run: READY=1, then SIGTERM exit %d in %.0f ms" % (rc, took * 1000), flush=True)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
            sock.close()


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def once_interrupted_then_finished():
    """SIGTERM during `once` saves the run (exit 143); the next `once`
    finishes that run, adopting its jobs: one import, one version, one
    campaign update in all."""
    label = "once interrupted, then finished by the next once"
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-resume-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, 2, True, "resume")
        proc = subprocess.Popen([binary(), "-c", cfg, "--state-dir", state, "once"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env(), cwd=REPO)
        try:
            got = wait_for(lambda: len([x for x in emu.ledger()
                                        if x["operation"] == "CreateDatasetImportJob"]) >= 2, 20)
            if not got:
                fail("%s: no imports created" % label)
                return
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
        if rc != 128 + signal.SIGTERM:
            fail("%s: interrupted once exit %d, want %d" % (label, rc, 128 + signal.SIGTERM))
        rc, out, err = cli(cfg, state, "status", "--json", timeout=10)
        try:
            p = json.loads(out)["pipelines"][0]
            if p["stage"] == "idle":
                fail("%s: status after SIGTERM says idle, want the saved run" % label)
        except (ValueError, KeyError, IndexError):
            fail("%s: status --json unparsable: %s" % (label, out[:200]))
        rc, out, err = cli(cfg, state, "once")
        if rc != 0:
            fail("%s: exit %d, want 0\n%s" % (label, rc, err))
        led = emu.ledger()
        ok = lambda op: len([x for x in led if x["operation"] == op and x["status"] == 200])
        if (ok("CreateDatasetImportJob"), ok("CreateSolutionVersion"), ok("UpdateCampaign")) != (2, 1, 1):
            fail("%s: creates %s, want (2, 1, 1)" % (label, (ok("CreateDatasetImportJob"),
                 ok("CreateSolutionVersion"), ok("UpdateCampaign"))))
        print("ok   %s" % label, flush=True)


def once_unreachable():
    """Nothing listens at the endpoint: `once` gives up with 69."""
    with tempfile.TemporaryDirectory(prefix="pr-dead-") as tmp:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, "http://127.0.0.1:%d" % port, 2, True, "dead")
        rc, out, err = cli(cfg, state, "once", extra_env={"AWS_MAX_ATTEMPTS": "1"})
        if rc != 69 or "unreachable" not in err:
            fail("once against a dead endpoint: exit %d, want 69\n%s" % (rc, err[-2000:]))
        else:
            print("ok   once against a dead endpoint: exit 69", flush=True)


def main():
    install_signal_cleanup()
    if not os.path.exists(binary()):
        print("no %s: build first" % binary())
        return 1
    threads = []
    for n in (1, 2, 3):
        for c in (False, True):
            threads.append(threading.Thread(target=once_case, args=(n, c)))
    threads.append(threading.Thread(target=dry_run))
    threads.append(threading.Thread(target=once_unreachable))
    threads.append(threading.Thread(target=once_interrupted_then_finished))
    threads.append(threading.Thread(target=run_ready_and_term))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("daemon once/run: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
