#!/usr/bin/env python3
# run-tests: duration=4
"""daemon_tags - Tags on every resource `once` creates, against the emulator
enforcing the policy `personalize-retrain policy` prints for the config.

- parameters.cfg, Tags=team=recs,env=prod,formula=a=b: each import job and
  the solution version hold exactly those tags (the emulator's state; the
  ledger redacts tag keys and values, which the model marks sensitive, so
  from it only the number of tags of each create is read); no denial.
- YAML, two pipelines, top-level Tags merged with the first pipeline's own
  (its value wins on the same key) and inherited unchanged by the second:
  each pipeline's creates carry exactly its merged tags.
- `once --dry-run` prints the tags in the bodies of both creates.
- UTF-8: a value with a non-ASCII letter goes through as is.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

CREATES = ("CreateDatasetImportJob", "CreateSolutionVersion")


def tag_dict(tags):
    out = {}
    for t in tags or []:
        check(t["tagKey"] not in out, "tag %s twice in %s" % (t["tagKey"], tags))
        out[t["tagKey"]] = t["tagValue"]
    return out


def created(led, solution_arn):
    """The resources the runs created for one solution: its import jobs
    (by dataset group) and its new versions."""
    group = "dataset/%s/" % ("my-dataset-group" if solution_arn == prtest.SOLUTION_ARN
                              else "other-group")
    jobs = [j for j in led.jobs if group in j["datasetArn"]]
    versions = [v for v in led.versions if v["solutionArn"] == solution_arn]
    return jobs, versions


def check_tags(led, solution_arn, want, n_jobs):
    jobs, versions = created(led, solution_arn)
    check(len(jobs) == n_jobs and len(versions) == 1,
          "%s: %d import jobs, %d versions" % (solution_arn, len(jobs), len(versions)))
    for r in jobs + versions:
        arn = r.get("datasetImportJobArn") or r.get("solutionVersionArn")
        check(tag_dict(r.get("tags")) == want,
              "%s has tags %s, want %s" % (arn, r.get("tags"), want))
    # the ledger: every create that made one of these carried len(want) tags
    arns = {r.get("datasetImportJobArn") or r.get("solutionVersionArn") for r in jobs + versions}
    for e in led.lines:
        if e["operation"] in CREATES and e.get("resultArn") in arns:
            n = len(e["params"].get("tags", []))
            check(n == len(want), "%s %s sent %d tags, want %d" % (
                e["operation"], e["resultArn"], n, len(want)))


def case_cfg(ctx):
    emu = ctx.emulator()
    cfg = ctx.config(emu, extra={"Tags": "team=recs, env = prod ,formula=a=b"})
    emu.enforce_config(cfg)
    r = ctx.cli(cfg, ctx.state_dir("dry"), "once", "--dry-run")
    bodies = [json.loads(b) for b in re.findall(r"^\{\n.*?^\}$", r.out, re.M | re.S)]
    tagged = [b for b in bodies if b.get("tags")]
    check(r.rc == 0 and len(tagged) == len(prtest.DATASETS) + 1 and all(
        tag_dict(b["tags"]) == {"team": "recs", "env": "prod", "formula": "a=b"}
        for b in tagged), "once --dry-run: %r" % r)
    r = ctx.cli(cfg, ctx.state_dir(), "once")
    check(r.rc == 0, "once: %r" % r)
    led = prtest.Ledger(emu)
    want = {"team": "recs", "env": "prod", "formula": "a=b"}
    check_tags(led, prtest.SOLUTION_ARN, want, len(prtest.DATASETS))
    check(not emu.denials(), "denied: %s" % emu.denials())


def world_two_solutions(ctx):
    """The test world plus a second dataset group with an interactions
    dataset and a solution of its own."""
    with open(os.path.join(prtest.REPO, prtest.WORLD)) as f:
        w = json.load(f)
    w["datasetGroups"].append({"name": "other-group", "roleArn": prtest.ROLE_ARN})
    w["datasets"].append({"datasetGroup": "other-group", "type": "INTERACTIONS",
                          "name": "other-interactions"})
    w["solutions"].append({"name": "other-solution", "datasetGroup": "other-group",
                           "performAutoTraining": False, "versions": []})
    path = ctx.path("world-two.json")
    with open(path, "w") as f:
        json.dump(w, f)
    return path


def case_yaml_merge(ctx):
    emu = ctx.emulator(world=world_two_solutions(ctx))
    other = prtest.ARN + "solution/other-solution"
    lines = [
        "ImportRoleArn: " + prtest.ROLE_ARN,
        "Region: " + prtest.REGION,
        "EndpointUrl: " + emu.url,
        "RetrainingRate: " + prtest.NEVER,
        "PollInterval: 1",
        "Tags: {team: recs, env: prod, owner: ml-platform}",
        "pipelines:",
        "  - PipelineName: shop",
        "    SolutionArn: " + prtest.SOLUTION_ARN,
        "    UserInteractionDatasetArn: " + prtest.ARN + "dataset/my-dataset-group/INTERACTIONS",
        "    S3UserInteractionDatasourcePath: s3://prtest-bucket/interactions.csv",
        "    ItemDatasetArn: " + prtest.ARN + "dataset/my-dataset-group/ITEMS",
        "    S3ItemDatasourcePath: s3://prtest-bucket/items.csv",
        "    Tags:",
        "      env: staging",
        "      cost-center: \"4711\"",
        "      city: Z\u00fcrich",
        "  - PipelineName: other",
        "    SolutionArn: " + other,
        "    UserInteractionDatasetArn: " + prtest.ARN + "dataset/other-group/INTERACTIONS",
        "    S3UserInteractionDatasourcePath: s3://prtest-bucket/other.csv",
    ]
    cfg = ctx.path("pipelines.yaml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    emu.enforce_config(cfg)
    r = ctx.cli(cfg, ctx.state_dir(), "once")
    check(r.rc == 0, "once: %r" % r)
    led = prtest.Ledger(emu)
    check_tags(led, prtest.SOLUTION_ARN,
               {"team": "recs", "env": "staging", "owner": "ml-platform", "cost-center": "4711",
                "city": "Z\u00fcrich"}, 2)
    check_tags(led, other, {"team": "recs", "env": "prod", "owner": "ml-platform"}, 1)
    check(not emu.denials(), "denied: %s" % emu.denials())


CASES = [
    ("parameters.cfg: Tags on the import jobs and the version", case_cfg),
    ("YAML: top-level Tags merged with a pipeline's own", case_yaml_merge),
]

if __name__ == "__main__":
    prtest.main(CASES)
