#!/usr/bin/env python3
# run-tests: duration=1
"""The #include graph of src/ and include/ keeps its layers:

- the pure core (retrain.c, plan.c, schedule*.c, config*.c) reaches no
  header that pulls in curl, sd-event (systemd/sd-*.h) or cJSON, directly
  or through our own headers;
- our own headers include each other without a cycle;
- a pure module (docs/HACKING.md's table) includes no I/O module's header,
  directly or through another header.

Runs on the source alone (BUILD_DIR is not needed). INCLUDE_GRAPH_ROOT
points it at another tree (its own test plants an include in a copy)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.environ.get("INCLUDE_GRAPH_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The modules of docs/HACKING.md's "Pure modules" table, and the headers of
# its "Modules that do I/O" table.
PURE = ["retrain", "plan", "schedule", "schedule_parse", "schedule_time",
        "schedule_tz", "config_parse_cfg", "config_parse_yaml",
        "config_validate", "config_keys", "config_arn", "config_raw",
        "sigv4", "gate", "ratelimit", "strbuf"]
IO_HEADERS = {"daemon.h", "runner.h", "adopt.h", "personalize.h", "aws.h",
              "aws-internal.h", "s3.h", "s3-internal.h", "http.h",
              "evtimer.h", "clientpool.h", "creds.h", "creds-internal.h",
              "credsprov.h", "state.h", "log.h", "notify.h", "hook.h",
              "child.h", "metrics.h", "wallclock.h", "cli.h", "events.h",
              "sts.h", "sso.h", "aws-engine.h"}
# The core whose reach into curl, sd-event and cJSON is checked.
CORE = re.compile(r"^src/(retrain|plan|schedule\w*|config\w*)\.c$")
HEAVY = re.compile(r"^(curl/|systemd/sd-|cjson/)")

# Edges allowed by name despite the rules above: none.
ALLOWED = set()

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def read_graph():
    files = {}
    for d, ext in (("src", (".c", ".h")), ("include", (".h",))):
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if name.endswith(ext):
                files[d + "/" + name] = None
    graph, system = {}, {}
    for f in files:
        with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
            text = fh.read()
        ours, sys_ = [], []
        for kind, target in INCLUDE.findall(text):
            here = os.path.dirname(f) + "/" + target
            if kind == '"' and here in files:
                ours.append(here)
            elif kind == '"' and "include/" + target in files:
                ours.append("include/" + target)
            else:
                sys_.append(target)
        graph[f], system[f] = ours, sys_
    return graph, system


def reach(graph, start, allowed=frozenset()):
    """Every file start includes, directly or not, with the path to it."""
    seen, todo = {start: [start]}, [start]
    while todo:
        f = todo.pop()
        for g in graph[f]:
            if (f, g) in allowed or g in seen:
                continue
            seen[g] = seen[f] + [g]
            todo.append(g)
    return seen


def find_cycle(graph):
    color, stack = {}, []

    def visit(f):
        color[f] = 1
        stack.append(f)
        for g in graph[f]:
            if color.get(g) == 1:
                return stack[stack.index(g):] + [g]
            if g not in color:
                c = visit(g)
                if c:
                    return c
        stack.pop()
        color[f] = 2
        return None

    for f in sorted(graph):
        if f not in color:
            c = visit(f)
            if c:
                return c
    return None


def main():
    graph, system = read_graph()
    problems = []
    for f in sorted(graph):
        if not CORE.match(f):
            continue
        for g, path in sorted(reach(graph, f, ALLOWED).items()):
            for s in system[g]:
                if HEAVY.match(s):
                    problems.append("%s reaches <%s>: %s" %
                                    (f, s, " -> ".join(path)))
    headers = {f: [g for g in v if g.startswith("include/")]
               for f, v in graph.items() if f.endswith(".h")}
    cycle = find_cycle(headers)
    if cycle:
        problems.append("our headers include each other in a cycle: " +
                        " -> ".join(cycle))
    for m in PURE:
        f = "src/%s.c" % m
        if f not in graph:
            problems.append("%s: a pure module listed here is gone" % f)
            continue
        for g, path in sorted(reach(graph, f, ALLOWED).items()):
            if g != f and os.path.basename(g) in IO_HEADERS:
                problems.append("pure module %s includes the I/O header %s: %s"
                                % (f, os.path.basename(g), " -> ".join(path)))
    for p in problems:
        print("include_graph: " + p)
    if problems:
        return 1
    print("include_graph: %d files, the layers hold" % len(graph))
    return 0


def planted_fails():
    """The check catches each kind of fault planted in a copy of the tree."""
    plants = [("src/config_parse_cfg.c", '#include "aws.h"'),  # curl, cJSON
              ("src/plan.c", "#include <systemd/sd-event.h>"),
              ("include/schedule.h", '#include "plan.h"'),     # a cycle
              ("src/gate.c", '#include "state.h"')]            # I/O header
    ok = True
    for f, line in plants:
        with tempfile.TemporaryDirectory() as tmp:
            for d in ("src", "include"):
                shutil.copytree(os.path.join(ROOT, d), os.path.join(tmp, d))
            with open(os.path.join(tmp, f), "a", encoding="utf-8") as fh:
                fh.write("\n" + line + "\n")
            r = subprocess.run([sys.executable, os.path.abspath(__file__)],
                               env=dict(os.environ, INCLUDE_GRAPH_ROOT=tmp),
                               capture_output=True, text=True)
            if r.returncode != 1:
                print("include_graph: %s planted in %s went unnoticed"
                      % (line, f))
                ok = False
    return ok


if __name__ == "__main__":
    rc = main()
    if rc == 0 and not os.environ.get("INCLUDE_GRAPH_ROOT"):
        rc = 0 if planted_fails() else 1
    sys.exit(rc)
