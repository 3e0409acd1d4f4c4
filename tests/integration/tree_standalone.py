#!/usr/bin/env python3
"""tree_standalone - the tree needs nothing beside it.

1. No tracked file refers to a path outside the tree: no reference to a
   sibling workspace folder (../shared and the documents kept there), and no
   relative path (../x) that leaves the tree from the file's own folder and
   names nothing inside the tree from the top either. The scanner is first
   shown to catch planted references.
2. The data the tests and the emulator read come from the tree alone: the
   tracked files are copied into an empty temporary directory (nothing
   beside the copy), the built emulator and the four unit suites that read
   tests/data are put into the copy's build/, and each runs there with no
   override in its environment: the emulator from / (it finds its model by
   walking up from its own location), the suites from the copy's top.
   --model and SIGV4_SUITE_DIR still override (a bad one is refused).

The cases run on prtest.py (check/Fail, every child reaped) from this tree;
in the copy run only the copied emulator and suites.

run-tests: duration=3
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import REPO, check  # noqa: E402

BUILD = prtest.BUILD_DIR
DATA_SUITES = ["test_sigv4", "test_emu_sigv4", "test_emu_model", "test_personalize"]
OVERRIDES = ["SIGV4_SUITE_DIR", "PERSONALIZE_MODEL", "PERSONALIZE_MODEL_DIR"]
START_TIMEOUT_S = 10

# Names of the workspace beside a developer's clone: a user never has them.
NAMED = re.compile(r"\.\./shared\b|\bshared/reference\b|SYSTEMD-TESTING\.md"
                   r"|\bSEED\.md\b|\bARCHITECTURE\.md\b|\bSTYLE\.md\b|(?<![\w.])/work/")
RELATIVE = re.compile(r"(?<![\w.$/])((?:\.\./)+[A-Za-z0-9_][A-Za-z0-9_.-]*)")

def tracked_files(root):
    """Paths relative to root: git's list in a checkout (.git a directory,
    or in a worktree a file naming one), else every file outside build/ and
    .git/."""
    if os.path.exists(os.path.join(root, ".git")):
        try:
            out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                                 capture_output=True).stdout
            return [p for p in out.decode().split("\0") if p]
        except (OSError, subprocess.CalledProcessError):
            pass
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if not (d == root and x in ("build", ".git"))]
        files += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(files)


def escapes(root, start, rel):
    target = os.path.normpath(os.path.join(start, rel))
    return os.path.relpath(target, root).startswith("..")


def scan(root):
    """Every (file:line, text) that refers outside the tree."""
    hits = []
    me = os.path.relpath(os.path.abspath(__file__), REPO)
    for rel in tracked_files(root):
        if rel == me or rel.startswith("tests/data/"):
            continue
        path = os.path.join(root, rel)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            continue
        if b"\0" in raw:
            continue
        text = raw.decode("utf-8", "replace")
        for n, line in enumerate(text.splitlines(), 1):
            where = "%s:%d" % (rel, n)
            m = NAMED.search(line)
            if m:
                hits.append((where, m.group(0)))
                continue
            for m in RELATIVE.finditer(line):
                ref = m.group(1)
                here = os.path.dirname(path)
                if not escapes(root, here, ref):
                    continue
                # a path read from the top of the tree (as tests run) that
                # exists there is inside the tree
                if not escapes(root, root, ref) or \
                        os.path.exists(os.path.normpath(os.path.join(here, ref))):
                    continue
                hits.append((where, ref))
    return hits


def scanner_catches_plants(ctx):
    with tempfile.TemporaryDirectory(prefix="standalone-plant-") as tmp:
        os.makedirs(os.path.join(tmp, "tests", "unit"))
        plants = {
            "tests/unit/a.c": '#define D "../shared/reference/x"\n',
            "tests/unit/b.c": '#include "../emulator/emu.h"\nf("../../../outside/data.json");\n',
            "c.md": "see ../sibling-project/notes\n",
            "d.sh": "cat /work/main/x\n",
        }
        os.makedirs(os.path.join(tmp, "tests", "emulator"))
        open(os.path.join(tmp, "tests", "emulator", "emu.h"), "w").close()
        for rel, body in plants.items():
            with open(os.path.join(tmp, rel), "w") as f:
                f.write(body)
        found = sorted(w for w, _ in scan(tmp))
        want = ["c.md:1", "d.sh:1", "tests/unit/a.c:1", "tests/unit/b.c:2"]
        check(found == want, "the scanner found %s in the planted tree, expected %s"
              % (found, want))


def no_reference_outside(ctx):
    hits = scan(REPO)
    check(not hits, "".join("%s refers outside the tree: %s\n" % h for h in hits).rstrip())
    ctx.log("%d files", len(tracked_files(REPO)))


def clean_env():
    env = dict(os.environ)
    for k in OVERRIDES:
        env.pop(k, None)
    return env


def copy_tree(dest):
    for rel in tracked_files(REPO):
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))
    os.makedirs(os.path.join(dest, "build", "tests"))
    shutil.copy2(os.path.join(BUILD, "personalize-emulator"),
                 os.path.join(dest, "build", "personalize-emulator"))
    for t in DATA_SUITES:
        shutil.copy2(os.path.join(BUILD, "tests", t), os.path.join(dest, "build", "tests", t))


def run_emulator(tree, extra, tmp):
    """Start the copied emulator from /; (its exit status, or None once it
    listens (its port file written), and its stderr). Fails when it does
    neither within START_TIMEOUT_S."""
    port_file = os.path.join(tmp, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    err_path = os.path.join(tmp, "emu.err")
    with open(err_path, "w") as err:
        p = prtest.popen([os.path.join(tree, "build", "personalize-emulator"),
                          "--port", "0", "--port-file", port_file,
                          "--exit-with-parent"] + extra,
                         cwd="/", env=clean_env(), stdout=subprocess.DEVNULL, stderr=err)
        try:
            prtest.wait_until(lambda: p.poll() is not None or os.path.exists(port_file),
                              START_TIMEOUT_S, "the copied emulator's port file or exit",
                              step=0.02)
            rc = p.poll()
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                prtest.wait_exit(p, 10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    with open(err_path) as f:
        return rc, f.read()


def copy_runs_alone(ctx):
    for b in ["personalize-emulator"] + ["tests/" + t for t in DATA_SUITES]:
        check(os.access(os.path.join(BUILD, b), os.X_OK),
              "%s/%s is not built (make all unit-build)" % (BUILD, b))
    with tempfile.TemporaryDirectory(prefix="standalone-") as tmp:
        tree = os.path.join(tmp, "tree")
        copy_tree(tree)
        siblings = sorted(os.listdir(tmp))
        check(siblings == ["tree"], "the copy has company: %s" % siblings)
        rc, err = run_emulator(tree, [], tmp)
        check(rc is None, "emulator in the copy exited %s: %s" % (rc, err.strip()))
        ctx.log("emulator copied into an empty directory finds its model from its own location")
        rc, err = run_emulator(tree, ["--model", os.path.join(tmp, "no-such-model.json")], tmp)
        check(rc == 78 and "model" in err,
              "emulator with a missing --model: exit %s, %r" % (rc, err.strip()))
        ctx.log("--model still overrides (a missing one is refused, exit 78)")
        bad = []
        for t in DATA_SUITES:
            p = subprocess.run([os.path.join(tree, "build", "tests", t)], cwd=tree,
                               env=clean_env(), capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                bad.append("%s in the copy exited %d:\n%s%s" % (
                    t, p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
        check(not bad, "\n".join(bad))
        ctx.log("%s pass in the copy, data from the copy's tests/data", ", ".join(DATA_SUITES))
        env = clean_env()
        env["SIGV4_SUITE_DIR"] = os.path.join(tmp, "no-such-suite")
        p = subprocess.run([os.path.join(tree, "build", "tests", "test_sigv4")], cwd=tree,
                           env=env, capture_output=True, text=True, timeout=120)
        check(p.returncode != 0, "test_sigv4 passed with SIGV4_SUITE_DIR naming no suite")
        ctx.log("SIGV4_SUITE_DIR still overrides (a missing suite fails test_sigv4)")


if __name__ == "__main__":
    prtest.main([("scanner catches planted references", scanner_catches_plants),
                 ("no tracked file refers outside the tree", no_reference_outside),
                 ("the copy runs alone", copy_runs_alone)])
