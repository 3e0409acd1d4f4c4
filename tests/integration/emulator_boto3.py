#!/usr/bin/env python3
# run-tests: duration=3
"""emulator_boto3 - the emulator against boto3, a client nobody here wrote.

A whole import -> train -> deploy cycle, batch inference and batch segment
jobs, the service's rules and errors as
boto3 models them, validation, pagination, faults, signatures (boto3's and a
small independent signer's for requests boto3 would never send), and the
IMDSv2 and container credential endpoints. Exit 77 when boto3 is missing.
"""
import datetime
import email.utils
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import boto3
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError:
    print("SKIP: python3 cannot import boto3 (scripts/install-deps installs python3-boto3)")
    sys.exit(77)

import prtest  # noqa: E402
from prtest import AKID, SECRET, amz_now, raw_call  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARN = "arn:aws:personalize:%s:%s:" % (REGION, ACCOUNT)
DATASETS = {t: ARN + "dataset/my-dataset-group/" + t for t in ("USERS", "ITEMS", "INTERACTIONS")}
SOLUTION = ARN + "solution/my-solution"
CAMPAIGN = ARN + "campaign/my-campaign"
OLD_VERSION = SOLUTION + "/0a1b2c3d"
ROLE = "arn:aws:iam::%s:role/PersonalizeS3ImportRole" % ACCOUNT


def client(emu, validate=True, attempts=3, akid=AKID, secret=SECRET, token=None):
    cfg = Config(retries={"total_max_attempts": attempts, "mode": "standard"},
                 parameter_validation=validate, connect_timeout=5, read_timeout=10)
    return boto3.client("personalize", region_name=REGION, endpoint_url=emu.url,
                        aws_access_key_id=akid, aws_secret_access_key=secret,
                        aws_session_token=token, config=cfg)


def error_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message"), e.response
    raise AssertionError("expected an error from %s" % fn.__name__)


PENDING_MS = 1000
RUN_MS = 60000
SLOW = {"durations": {"pendingMs": PENDING_MS, "importMs": RUN_MS, "trainingMs": RUN_MS,
                      "campaignUpdateMs": RUN_MS, "stoppingMs": PENDING_MS}}


def status(obj):
    return obj["status"]


def check_cycle(emu):
    """Jobs run for a minute of emulator time; emu.advance() moves that clock,
    so nothing here depends on how fast this machine is."""
    p = client(emu)
    jobs = {}
    for t, arn in DATASETS.items():
        r = p.create_dataset_import_job(jobName="cycle-%s" % t.lower(), datasetArn=arn,
                                        dataSource={"dataLocation": "s3://bucket/%s.csv" % t},
                                        roleArn=ROLE, importMode="FULL")
        assert r["datasetImportJobArn"] == ARN + "dataset-import-job/cycle-%s" % t.lower(), r
        assert r["ResponseMetadata"]["RequestId"], "x-amzn-RequestId missing"
        jobs[t] = r["datasetImportJobArn"]

    def job(t):
        return p.describe_dataset_import_job(datasetImportJobArn=jobs[t])["datasetImportJob"]
    assert status(job("USERS")) == "CREATE PENDING", job("USERS")
    # the rules while the imports run
    code, msg, _ = error_of(p.create_dataset_import_job, jobName="cycle-users",
                            datasetArn=DATASETS["USERS"], roleArn=ROLE,
                            dataSource={"dataLocation": "s3://bucket/x.csv"})
    assert code == "ResourceAlreadyExistsException", (code, msg)
    code, msg, resp = error_of(p.create_dataset_import_job, jobName="second-users",
                               datasetArn=DATASETS["USERS"], roleArn=ROLE,
                               dataSource={"dataLocation": "s3://bucket/x.csv"})
    assert code == "ResourceInUseException", (code, msg)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    emu.advance(PENDING_MS)
    assert status(job("ITEMS")) == "CREATE IN_PROGRESS", job("ITEMS")
    code, msg, _ = error_of(p.create_solution_version, solutionArn=SOLUTION)
    assert code == "ResourceInUseException", "training while imports run: %s" % code
    emu.advance(RUN_MS)
    for t in jobs:
        j = job(t)
        assert j["status"] == "ACTIVE", j
        assert j["datasetArn"] == DATASETS[t] and j["dataSource"]["dataLocation"].endswith(".csv")
        assert j["creationDateTime"] < j["lastUpdatedDateTime"], j
        assert hasattr(j["creationDateTime"], "tzinfo"), "timestamps must parse as datetimes"

    v = p.create_solution_version(solutionArn=SOLUTION, trainingMode="FULL",
                                  name="cycle-version")["solutionVersionArn"]
    assert v.startswith(SOLUTION + "/") and len(v) == len(SOLUTION) + 9, v
    code, msg, _ = error_of(p.create_solution_version, solutionArn=SOLUTION)
    assert code == "ResourceInUseException", (code, msg)
    code, msg, _ = error_of(p.update_campaign, campaignArn=CAMPAIGN, solutionVersionArn=v)
    assert code == "InvalidInputException", (code, msg)
    code, msg, _ = error_of(p.get_solution_metrics, solutionVersionArn=v)
    assert code == "ResourceInUseException", (code, msg)
    emu.advance(PENDING_MS + RUN_MS)
    sv = p.describe_solution_version(solutionVersionArn=v)["solutionVersion"]
    assert sv["status"] == "ACTIVE" and sv["trainingHours"] > 0, sv
    assert sv["solutionArn"] == SOLUTION and sv["name"] == "cycle-version", sv
    m = p.get_solution_metrics(solutionVersionArn=v)
    assert m["solutionVersionArn"] == v and "normalized_discounted_cumulative_gain_at_10" in m["metrics"]
    sol = p.describe_solution(solutionArn=SOLUTION)["solution"]
    assert sol["latestSolutionVersion"]["solutionVersionArn"] == v, sol

    before = p.describe_campaign(campaignArn=CAMPAIGN)["campaign"]
    assert before["solutionVersionArn"] == OLD_VERSION, before
    assert "latestCampaignUpdate" not in before, before
    p.update_campaign(campaignArn=CAMPAIGN, solutionVersionArn=v, minProvisionedTPS=1)
    for want in ("UPDATE PENDING", "UPDATE IN_PROGRESS"):
        during = p.describe_campaign(campaignArn=CAMPAIGN)["campaign"]
        assert during["status"] == "ACTIVE", during
        assert during["latestCampaignUpdate"]["status"] == want, during
        assert during["solutionVersionArn"] == OLD_VERSION, "switched before the update was ACTIVE"
        assert during["latestCampaignUpdate"]["solutionVersionArn"] == v
        code, msg, _ = error_of(p.update_campaign, campaignArn=CAMPAIGN, solutionVersionArn=v)
        assert code == "ResourceInUseException", (code, msg)
        emu.advance(PENDING_MS)
    emu.advance(RUN_MS)
    c = p.describe_campaign(campaignArn=CAMPAIGN)["campaign"]
    assert c["latestCampaignUpdate"]["status"] == "ACTIVE", c
    assert c["solutionVersionArn"] == v and c["status"] == "ACTIVE", c

    led = emu.ledger_lines()
    creates = [e for e in led if e["operation"] == "CreateDatasetImportJob" and e["status"] == 200]
    assert len(creates) == 3, creates
    assert all(e["signatureOk"] and e["accessKeyId"] == AKID for e in creates)
    assert {e["resultArn"] for e in creates} == set(jobs.values())
    assert creates[0]["params"]["dataSource"]["dataLocation"].startswith("s3://")
    assert [e["error"] for e in led if e["operation"] == "UpdateCampaign"] == \
        ["InvalidInputException", None, "ResourceInUseException", "ResourceInUseException"], led


def check_failures_scripted(emu):
    p = client(emu)
    st, _ = emu.admin_status("POST", "script", {"importFails": {"ITEMS": 1}, "trainingFails": 1,
                                         "campaignUpdateFails": 1})
    assert st == 200
    a = p.create_dataset_import_job(jobName="fail-items", datasetArn=DATASETS["ITEMS"],
                                    dataSource={"dataLocation": "s3://b/items.csv"},
                                    roleArn=ROLE)["datasetImportJobArn"]
    emu.advance(PENDING_MS + RUN_MS)
    job = p.describe_dataset_import_job(datasetImportJobArn=a)["datasetImportJob"]
    assert job["status"] == "CREATE FAILED" and job["failureReason"], job
    v = p.create_solution_version(solutionArn=SOLUTION)["solutionVersionArn"]
    emu.advance(PENDING_MS + RUN_MS)
    sv = p.describe_solution_version(solutionVersionArn=v)["solutionVersion"]
    assert sv["status"] == "CREATE FAILED" and sv["failureReason"], sv
    code, _, _ = error_of(p.update_campaign, campaignArn=CAMPAIGN, solutionVersionArn=v)
    assert code == "InvalidInputException"
    v2 = p.create_solution_version(solutionArn=SOLUTION)["solutionVersionArn"]
    emu.advance(PENDING_MS + RUN_MS)
    assert p.describe_solution_version(solutionVersionArn=v2)["solutionVersion"]["status"] == "ACTIVE"
    served = p.describe_campaign(campaignArn=CAMPAIGN)["campaign"]["solutionVersionArn"]
    p.update_campaign(campaignArn=CAMPAIGN, solutionVersionArn=v2)
    emu.advance(PENDING_MS + RUN_MS)
    c = p.describe_campaign(campaignArn=CAMPAIGN)["campaign"]
    assert c["latestCampaignUpdate"]["status"] == "CREATE FAILED", c
    assert c["latestCampaignUpdate"]["failureReason"], c
    assert c["solutionVersionArn"] == served and c["status"] == "ACTIVE", c
    # the script was for one failure each: the next ones succeed
    a = p.create_dataset_import_job(jobName="ok-items", datasetArn=DATASETS["ITEMS"],
                                    dataSource={"dataLocation": "s3://b/items.csv"},
                                    roleArn=ROLE)["datasetImportJobArn"]
    emu.advance(PENDING_MS + RUN_MS)
    assert p.describe_dataset_import_job(datasetImportJobArn=a)["datasetImportJob"]["status"] == "ACTIVE"
    # stopping a training: IN_PROGRESS -> CREATE STOPPING -> CREATE STOPPED
    v3 = p.create_solution_version(solutionArn=SOLUTION)["solutionVersionArn"]
    emu.advance(PENDING_MS)
    p.stop_solution_version_creation(solutionVersionArn=v3)
    assert p.describe_solution_version(solutionVersionArn=v3)["solutionVersion"]["status"] == \
        "CREATE STOPPING"
    emu.advance(PENDING_MS)
    assert p.describe_solution_version(solutionVersionArn=v3)["solutionVersion"]["status"] == \
        "CREATE STOPPED"
    code, _, _ = error_of(p.stop_solution_version_creation, solutionVersionArn=v3)
    assert code == "ResourceInUseException"


def check_not_found_and_validation(emu):
    p = client(emu)
    code, msg, _ = error_of(p.describe_campaign, campaignArn=ARN + "campaign/nope")
    assert code == "ResourceNotFoundException", (code, msg)
    code, msg, _ = error_of(p.describe_dataset_import_job,
                            datasetImportJobArn=ARN + "dataset-import-job/nope")
    assert code == "ResourceNotFoundException", (code, msg)
    code, msg, _ = error_of(p.create_solution_version, solutionArn=ARN + "solution/nope")
    assert code == "ResourceNotFoundException", (code, msg)
    loose = client(emu, validate=False)
    code, msg, resp = error_of(loose.create_dataset_import_job, jobName="bad name!",
                               datasetArn=DATASETS["USERS"],
                               dataSource={"dataLocation": "s3://b/u.csv"})
    assert code == "ValidationException", (code, msg)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern" in msg, msg
    code, msg, _ = error_of(loose.create_dataset_import_job, jobName="x" * 64,
                            dataSource={"dataLocation": "s3://b/u.csv"})
    assert code == "ValidationException" and msg.startswith("2 validation errors detected"), msg
    assert "Value null at 'datasetArn' failed to satisfy constraint: Member must not be null" in msg, msg
    assert "Member must have length less than or equal to 63" in msg, msg
    code, msg, _ = error_of(loose.list_campaigns, maxResults=1000)
    assert code == "ValidationException" and "less than or equal to 100" in msg, msg
    code, msg, _ = error_of(loose.create_solution_version, solutionArn=SOLUTION,
                            trainingMode="SOMETIMES")
    assert code == "ValidationException" and "enum value set: [FULL, UPDATE, AUTOTRAIN]" in msg, msg
    code, msg, _ = error_of(loose.describe_campaign, campaignArn="not-an-arn")
    assert code == "ValidationException", (code, msg)
    code, msg, _ = error_of(loose.list_campaigns, maxResults="ten")
    assert code == "SerializationException", (code, msg)


def check_pagination(emu):
    p = client(emu)
    r = p.list_dataset_import_jobs(maxResults=1)
    assert len(r["datasetImportJobs"]) == 1 and r["nextToken"], r
    total = sum(len(page["datasetImportJobs"]) for page in
                p.get_paginator("list_dataset_import_jobs").paginate(PaginationConfig={"PageSize": 2}))
    state = emu.admin_status("GET", "state")[1]
    assert total == len(state["world"]["datasetImportJobs"]) and total >= 4, (total, state)
    only = p.list_dataset_import_jobs(datasetArn=DATASETS["ITEMS"])["datasetImportJobs"]
    assert only and all("items" in j["datasetImportJobArn"] for j in only), only
    code, msg, _ = error_of(p.list_dataset_import_jobs, nextToken="garbage")
    assert code == "InvalidNextTokenException", (code, msg)
    vs = [v for page in p.get_paginator("list_solution_versions").paginate(
        solutionArn=SOLUTION, PaginationConfig={"PageSize": 1}) for v in page["solutionVersions"]]
    assert len(vs) == len({v["solutionVersionArn"] for v in vs}) >= 3, vs
    assert p.list_datasets()["datasets"] and p.list_solutions()["solutions"]
    assert p.list_campaigns(solutionArn=SOLUTION)["campaigns"][0]["campaignArn"] == CAMPAIGN
    code, _, _ = error_of(p.list_solution_versions, solutionArn=ARN + "solution/nope")
    assert code == "ResourceNotFoundException"
    assert p.describe_dataset(datasetArn=DATASETS["USERS"])["dataset"]["datasetType"] == "USERS"
    dg = p.describe_dataset_group(datasetGroupArn=ARN + "dataset-group/my-dataset-group")
    assert dg["datasetGroup"]["status"] == "ACTIVE"
    groups = p.list_dataset_groups()["datasetGroups"]
    assert [g["datasetGroupArn"] for g in groups] == [ARN + "dataset-group/my-dataset-group"], groups


def check_faults(emu):
    st, _ = emu.admin_status("POST", "faults", {"rules": [
        {"operation": "DescribeCampaign", "kind": "throttle", "rate": 1.0, "count": 1}]})
    assert st == 200
    code, msg, resp = error_of(client(emu, attempts=1).describe_campaign, campaignArn=CAMPAIGN)
    assert code == "ThrottlingException" and resp["ResponseMetadata"]["HTTPStatusCode"] == 400, code
    emu.admin_status("POST", "faults", {"rules": [
        {"operation": "DescribeCampaign", "kind": "throttle", "rate": 1.0, "count": 2}]})
    client(emu, attempts=3).describe_campaign(campaignArn=CAMPAIGN)  # retried through
    emu.admin_status("POST", "faults", {"rules": [
        {"operation": "*", "kind": "503", "rate": 1.0, "count": 1}]})
    code, _, resp = error_of(client(emu, attempts=1).list_campaigns)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 503, resp
    emu.admin_status("POST", "faults", {"rules": [
        {"operation": "*", "kind": "500", "rate": 1.0, "count": 1}]})
    code, _, resp = error_of(client(emu, attempts=1).list_campaigns)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 500, resp
    for kind in ("reset", "drop", "malformed", "truncated", "cut", "content_type"):
        emu.admin_status("POST", "faults", {"rules": [
            {"operation": "ListCampaigns", "kind": kind, "rate": 1.0, "count": 1}]})
        try:
            r = client(emu, attempts=1).list_campaigns()
        except Exception:  # each is some botocore error; the point is: not a success
            pass
        else:
            # botocore turns an unparsable 200 body into {} without raising;
            # what matters is that the answer is not the real one
            assert "campaigns" not in r, "fault %s went unnoticed by boto3" % kind
    emu.admin_status("POST", "faults", {"rules": [
        {"operation": "ListCampaigns", "kind": "slow", "delayMs": 300, "count": 1}]})
    t0 = time.monotonic()
    client(emu).list_campaigns()
    assert time.monotonic() - t0 >= 0.3
    st, body = emu.admin_status("POST", "faults", {"rules": [{"kind": "nonsense"}]})
    assert st == 400 and "unknown kind" in body["message"], body
    emu.admin_status("POST", "faults", {"rules": []})
    faults = [e["fault"] for e in emu.ledger_lines() if e["fault"]]
    for kind in ("throttle", "503", "500", "reset", "drop", "malformed", "truncated", "cut",
                 "content_type", "slow"):
        assert kind in faults, (kind, faults)
    # after the call: the job exists although the client saw an error
    emu.admin_status("POST", "faults", {"rules": [
        {"operation": "CreateDatasetImportJob", "kind": "500", "phase": "after", "count": 1}]})
    code, _, _ = error_of(client(emu, attempts=1).create_dataset_import_job,
                          jobName="unknown-outcome", datasetArn=DATASETS["USERS"],
                          dataSource={"dataLocation": "s3://b/u.csv"}, roleArn=ROLE)
    assert code == "InternalFailure", code
    # a reset before the call: nothing happened; a drop after it: the job exists
    for name, phase in (("never-created", "before"), ("created-unseen", "after")):
        emu.admin_status("POST", "faults", {"rules": [
            {"operation": "CreateDatasetImportJob", "kind": "reset" if phase == "before" else "drop",
             "phase": phase, "count": 1}]})
        try:
            client(emu, attempts=1).create_dataset_import_job(
                jobName=name, datasetArn=DATASETS["ITEMS"],
                dataSource={"dataLocation": "s3://b/i.csv"}, roleArn=ROLE)
        except Exception:
            pass
        else:
            raise AssertionError("%s: the client got an answer" % name)
        emu.advance(PENDING_MS + RUN_MS)
    names = [j["jobName"] for j in client(emu).list_dataset_import_jobs()["datasetImportJobs"]]
    assert "unknown-outcome" in names and "created-unseen" in names, names
    assert "never-created" not in names, names
    led = {e["params"]["jobName"]: e for e in emu.ledger_lines()
           if e["operation"] == "CreateDatasetImportJob" and e["fault"]}
    assert led["never-created"]["status"] == 0 and "resultArn" not in led["never-created"]
    assert led["created-unseen"]["status"] == 0 and led["created-unseen"]["faultPhase"] == "after"
    assert led["created-unseen"]["resultArn"].endswith("/created-unseen"), led
    assert led["unknown-outcome"]["status"] == 500 and led["unknown-outcome"]["resultArn"]
    emu.admin_status("POST", "faults", {"rules": []})


def check_signatures(emu):
    code, msg, resp = error_of(client(emu, secret="not-the-secret").list_campaigns)
    assert code == "InvalidSignatureException" and resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert msg.startswith("The request signature we calculated does not match"), msg
    code, msg, resp = error_of(client(emu, akid="AKIDUNKNOWN").list_campaigns)
    assert code == "UnrecognizedClientException", code
    assert msg == "The security token included in the request is invalid.", msg
    # boto3's own signature, altered on the wire
    p = client(emu)

    def tamper(request, **kw):
        a = request.headers["Authorization"]
        if isinstance(a, bytes):
            a = a.decode()
        request.headers["Authorization"] = a[:-1] + ("0" if a[-1] != "0" else "1")
    p.meta.events.register("before-send.personalize.ListCampaigns", tamper)
    code, _, _ = error_of(p.list_campaigns)
    assert code == "InvalidSignatureException", code
    # what boto3 never sends
    st, hdrs, body = raw_call(emu, "ListCampaigns", {})
    assert st == 200 and "campaigns" in body, (st, body)
    assert any(k.lower() == "x-amzn-requestid" for k in hdrs), hdrs
    st, _, body = raw_call(emu, "ListCampaigns", {}, tamper=True)
    assert st == 403 and body["__type"].endswith("InvalidSignatureException"), body
    st, _, body = raw_call(emu, "ListCampaigns", {}, amz_date=amz_now(-600))
    assert st == 403 and body["__type"].endswith("InvalidSignatureException"), body
    assert body["message"].startswith("Signature expired: ") and \
        " is now earlier than " in body["message"] and body["message"].endswith(" - 5 min.)"), body
    st, _, body = raw_call(emu, "ListCampaigns", {}, amz_date=amz_now(-120))
    assert st == 200, body
    st, _, body = raw_call(emu, "ListCampaigns", {}, amz_date=amz_now(600))
    assert st == 403 and "Signature not yet current" in body["message"], body
    st, _, body = raw_call(emu, "ListCampaigns", {}, region="eu-west-1")
    assert st == 403 and body["__type"].endswith("InvalidSignatureException"), body
    # an emulator whose clock runs 10 minutes ahead: refused, and the reply's
    # Date tells the client how far off it is (what SDKs correct skew from)
    st, _ = emu.admin_status("POST", "clock", {"skewS": 600})
    assert st == 200
    try:
        st, hdrs, body = raw_call(emu, "ListCampaigns", {})
        assert st == 403 and body["message"].startswith("Signature expired"), body
        server = email.utils.parsedate_to_datetime(hdrs["Date"])
        skew = (server - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        assert 590 < skew < 610, skew
        st, _, body = raw_call(emu, "ListCampaigns", {}, amz_date=server.strftime("%Y%m%dT%H%M%SZ"))
        assert st == 200, body
    finally:
        emu.admin_status("POST", "clock", {"skewS": 0})
    st, _, body = raw_call(emu, "NoSuchOperation", {})
    assert st == 404 and body["__type"].endswith("UnknownOperationException"), body
    st, _, body = raw_call(emu, "ListCampaigns", {}, content_type="application/json")
    assert st == 400, body


def check_credentials(emu):
    """Temporary credentials from the IMDSv2 and container endpoints."""
    saved = dict(os.environ)
    try:
        for k in list(os.environ):
            if k.startswith("AWS_"):
                del os.environ[k]
        os.environ.update({
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": emu.url + "/",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": emu.url + "/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-secret-token",
        })
        creds = botocore.session.Session().get_credentials().get_frozen_credentials()
        assert creds.access_key.startswith("ASIA") and creds.token, "container creds"
        del os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        imds = botocore.session.Session().get_credentials().get_frozen_credentials()
        assert imds.access_key.startswith("ASIA") and imds.token, "IMDS creds"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    p = client(emu, akid=imds.access_key, secret=imds.secret_key, token=imds.token)
    assert p.list_campaigns()["campaigns"]
    st, _, body = raw_call(emu, "ListCampaigns", {}, akid=imds.access_key, secret=imds.secret_key,
                           token=imds.token, sign_token=False)
    assert st == 403 and body["__type"].endswith("IncompleteSignatureException"), body
    st, _, body = raw_call(emu, "ListCampaigns", {}, akid=imds.access_key, secret=imds.secret_key)
    assert st == 403 and body["__type"].endswith("UnrecognizedClientException"), body
    # the endpoints fail on demand ("*" rules never touch them)
    import urllib.error
    import urllib.request

    def put_token():
        req = urllib.request.Request(emu.url + "/latest/api/token", method="PUT",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
    emu.admin_status("POST", "faults", {"rules": [{"kind": "500"},
                                           {"operation": "IMDS:token", "kind": "503", "count": 1}]})
    try:
        assert put_token() == 503
        assert put_token() == 200
    finally:
        emu.admin_status("POST", "faults", {"rules": []})
    emu.admin_status("POST", "credentials/expire", {})
    code, _, _ = error_of(p.list_campaigns)
    assert code == "ExpiredTokenException", code
    with open(emu.ledger_path) as f:
        raw = f.read()
    for secret in (SECRET, imds.secret_key, imds.token, creds.secret_key, creds.token,
                   "container-secret-token"):
        assert secret not in raw, "a secret reached the ledger"
    ops = [e["operation"] for e in emu.ledger_lines()]
    assert "IMDS:token" in ops and "IMDS:credentials" in ops and "ContainerCredentials" in ops, ops
    assert any(e["operation"] == "IMDS:token" and e["fault"] == "503" for e in emu.ledger_lines())


SEG_SOLUTION = ARN + "solution/my-segments"
SEG_VERSION = SEG_SOLUTION + "/5e9a0000"
BATCH_MS = 30000


def batch_world():
    """test.json with a USER_SEGMENTATION solution and batch inputs."""
    import json
    with open(prtest.WORLD) as f:
        w = json.load(f)
    sols = w["solutions"] + [{
        "name": "my-segments", "datasetGroup": "my-dataset-group",
        "recipeArn": "arn:aws:personalize:::recipe/aws-item-affinity",
        "versions": [{"id": "5e9a0000", "status": "ACTIVE"}]}]
    objs = w["s3Objects"] + [
        {"uri": "s3://batch-bucket/in/users.json", "etag": '"1"', "size": 300},
        {"uri": "s3://batch-bucket/in/items.json", "etag": '"2"', "size": 200}]
    return {"solutions": sols, "s3Objects": objs}


def check_batch_jobs(ctx):
    """Batch inference and segment jobs through boto3: the members Debian
    12's botocore knows, the service's errors, the output in S3, a fault
    after the call, a policy denial, the ledger and the state."""
    emu = ctx.emulator(overrides=batch_world(),
                       durations={"pendingMs": PENDING_MS, "batchInferenceMs": BATCH_MS,
                                  "batchSegmentMs": BATCH_MS})
    p = client(emu)
    inp = {"s3DataSource": {"path": "s3://batch-bucket/in/users.json"}}
    r = p.create_batch_inference_job(
        jobName="nightly", solutionVersionArn=OLD_VERSION, jobInput=inp,
        jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/out/"}}, roleArn=ROLE,
        numResults=25, filterArn=ARN + "filter/no-bought",
        batchInferenceJobConfig={"itemExplorationConfig": {"explorationWeight": "0.3"}},
        tags=[{"tagKey": "team", "tagValue": "ml"}])
    job_arn = r["batchInferenceJobArn"]
    assert job_arn == ARN + "batch-inference-job/nightly", r
    j = p.describe_batch_inference_job(batchInferenceJobArn=job_arn)["batchInferenceJob"]
    assert j["status"] == "CREATE PENDING" and j["numResults"] == 25, j
    assert j["jobInput"] == inp and j["roleArn"] == ROLE, j
    assert j["batchInferenceJobConfig"]["itemExplorationConfig"] == {"explorationWeight": "0.3"}, j
    emu.advance(PENDING_MS)
    assert p.describe_batch_inference_job(
        batchInferenceJobArn=job_arn)["batchInferenceJob"]["status"] == "CREATE IN_PROGRESS"
    # the service's rules
    code, msg, _ = error_of(p.create_batch_inference_job, jobName="nightly",
                            solutionVersionArn=OLD_VERSION, jobInput=inp,
                            jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/o/"}},
                            roleArn=ROLE)
    assert code == "ResourceAlreadyExistsException" and job_arn in msg, (code, msg)
    code, msg, _ = error_of(p.create_batch_inference_job, jobName="x",
                            solutionVersionArn=SOLUTION + "/ffffffff", jobInput=inp,
                            jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/o/"}},
                            roleArn=ROLE)
    assert code == "ResourceNotFoundException", (code, msg)
    code, msg, _ = error_of(p.create_batch_segment_job, jobName="x",
                            solutionVersionArn=OLD_VERSION, jobInput=inp,
                            jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/o/"}},
                            roleArn=ROLE)
    assert code == "InvalidInputException" and "USER_SEGMENTATION" in msg, (code, msg)
    # a missing input: accepted, then CREATE FAILED
    gone = p.create_batch_inference_job(
        jobName="gone", solutionVersionArn=OLD_VERSION,
        jobInput={"s3DataSource": {"path": "s3://batch-bucket/in/nobody.json"}},
        jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/gone/"}},
        roleArn=ROLE)["batchInferenceJobArn"]
    seg = p.create_batch_segment_job(
        jobName="segments", solutionVersionArn=SEG_VERSION,
        jobInput={"s3DataSource": {"path": "s3://batch-bucket/in/items.json"}},
        jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/segments/"}},
        roleArn=ROLE, numResults=100)["batchSegmentJobArn"]
    assert seg == ARN + "batch-segment-job/segments", seg
    emu.advance(PENDING_MS + BATCH_MS)
    j = p.describe_batch_inference_job(batchInferenceJobArn=job_arn)["batchInferenceJob"]
    assert j["status"] == "ACTIVE" and "failureReason" not in j, j
    assert j["lastUpdatedDateTime"] > j["creationDateTime"], j
    j = p.describe_batch_inference_job(batchInferenceJobArn=gone)["batchInferenceJob"]
    assert j["status"] == "CREATE FAILED" and "nobody.json" in j["failureReason"], j
    sj = p.describe_batch_segment_job(batchSegmentJobArn=seg)["batchSegmentJob"]
    assert sj["status"] == "ACTIVE" and sj["numResults"] == 100, sj
    # lists: filtered, paged, newest first
    jobs = p.list_batch_inference_jobs(solutionVersionArn=OLD_VERSION)["batchInferenceJobs"]
    assert [x["jobName"] for x in jobs] == ["gone", "nightly"], jobs
    assert jobs[0]["status"] == "CREATE FAILED" and jobs[0]["failureReason"], jobs
    page = p.list_batch_inference_jobs(maxResults=1)
    assert len(page["batchInferenceJobs"]) == 1 and page["nextToken"], page
    rest = p.list_batch_inference_jobs(maxResults=1, nextToken=page["nextToken"])
    assert rest["batchInferenceJobs"][0]["jobName"] == "nightly" and "nextToken" not in rest, rest
    assert p.list_batch_inference_jobs(solutionVersionArn=SEG_VERSION)["batchInferenceJobs"] == []
    segs = p.list_batch_segment_jobs(solutionVersionArn=SEG_VERSION)["batchSegmentJobs"]
    assert [x["batchSegmentJobArn"] for x in segs] == [seg], segs
    assert p.list_tags_for_resource(resourceArn=job_arn)["tags"] == \
        [{"tagKey": "team", "tagValue": "ml"}]
    # the outputs in S3, as boto3's S3 client sees them
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=emu.url, aws_access_key_id=AKID,
                      aws_secret_access_key=SECRET, config=Config(s3={"addressing_style": "path"}))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="batch-bucket", Prefix="out/")["Contents"]]
    assert keys == ["out/users.json.out"], keys
    assert s3.head_object(Bucket="batch-bucket", Key="segments/items.json.out")["ContentLength"] > 0
    assert s3.list_objects_v2(Bucket="batch-bucket", Prefix="gone/")["KeyCount"] == 0
    # a fault after the call: the client sees a 500, the job exists
    emu.faults([{"operation": "CreateBatchInferenceJob", "kind": "500", "phase": "after",
                 "count": 1}])
    code, _, resp = error_of(client(emu, attempts=1).create_batch_inference_job, jobName="hidden",
                             solutionVersionArn=OLD_VERSION, jobInput=inp,
                             jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/h/"}},
                             roleArn=ROLE)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 500, (code, resp)
    state = emu.state()
    assert ARN + "batch-inference-job/hidden" in \
        [x["batchInferenceJobArn"] for x in state["batchInferenceJobs"]], state
    assert [x["batchSegmentJobArn"] for x in state["batchSegmentJobs"]] == [seg], state
    emu.faults([])
    # an identity policy without the batch job: AccessDeniedException
    emu.enforce({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "personalize:*", "Resource": ARN + "batch-segment-job/*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE}]})
    code, msg, _ = error_of(p.create_batch_inference_job, jobName="denied",
                            solutionVersionArn=OLD_VERSION, jobInput=inp,
                            jobOutput={"s3DataDestination": {"path": "s3://batch-bucket/d/"}},
                            roleArn=ROLE)
    assert code == "AccessDeniedException" and "batch-inference-job/denied" in msg, (code, msg)
    emu.enforce(None)
    # the ledger: each create with the ARN it made
    made = {e["resultArn"] for e in emu.ledger_lines()
            if e["operation"] in ("CreateBatchInferenceJob", "CreateBatchSegmentJob") and
            e.get("resultArn")}
    assert made == {job_arn, gone, seg, ARN + "batch-inference-job/hidden"}, made
    emu.stop()


def check_yaml_world_and_shutdown(ctx):
    emu = ctx.emulator(world=os.path.join(prtest.REPO, "tests/emulator/worlds/test.yaml"))
    assert emu.ready_line().startswith("personalize-emulator: ready on http://127.0.0.1:")
    c = client(emu).describe_campaign(campaignArn=CAMPAIGN)["campaign"]
    assert c["solutionVersionArn"] == OLD_VERSION
    emu.admin_status("POST", "faults", {"rules": [{"kind": "slow", "delayMs": 60000}]})
    import threading
    t = threading.Thread(target=lambda: _swallow(client(emu, attempts=1).list_campaigns),
                         daemon=True)
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    emu.stop()
    assert time.monotonic() - t0 < 3, "SIGTERM must not wait for slow replies"
    assert emu.exit_status() == 0, emu.exit_status()


def _swallow(fn):
    try:
        fn()
    except Exception:
        pass


# The checks before the YAML world's run in this order against one emulator
# (the later ones look at what the cycle created), started by the first.
shared = {}


def shared_emulator(ctx):
    prtest.require_binaries()
    shared["ctx"] = prtest.Ctx("boto3-shared")
    shared["emu"] = shared["ctx"].emulator(
        overrides=SLOW, args=["--container-token", "container-secret-token"])


def on_shared(check):
    def case(ctx):
        if "emu" not in shared:
            shared_emulator(ctx)
        check(shared["emu"])
    return (check.__name__, case)


def shared_exits_0(ctx):
    emu = shared["emu"]
    emu.stop()
    prtest.check(emu.exit_status() == 0,
                 "emulator exit status %s after SIGTERM" % emu.exit_status())
    shared["ctx"].close()


if __name__ == "__main__":
    prtest.main([on_shared(c) for c in (
        check_cycle, check_failures_scripted, check_not_found_and_validation,
        check_pagination, check_faults, check_signatures, check_credentials)] + [
        ("the shared emulator exits 0 on SIGTERM", shared_exits_0),
        ("check_batch_jobs", check_batch_jobs),
        ("check_yaml_world_and_shutdown", check_yaml_world_and_shutdown),
    ], parallel=1)
