#!/usr/bin/env python3
# run-tests: duration=16
"""creds_botocore - our credential chain against an independent resolver:
for each config/credentials file fixture below, botocore's own chain
(boto3, GetCallerIdentity) and ours (`once`, the identity the emulator
records for our Personalize calls) run against the same emulator (STS,
the SSO portal, the container endpoint) and must end at the same identity,
or both refuse. Session names made by default carry the time
(botocore-session-<epoch>): assumed-role ARNs are compared without them
where the fixture leaves the name to the default. Exit 77 without boto3.
"""
import hashlib
import json
import os
import subprocess
import sys
import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

R = "arn:aws:iam::111122223333:role/"
KEYS = "aws_access_key_id = %s\naws_secret_access_key = %s\n" % (prtest.AKID, prtest.SECRET)
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjcm9zcyJ9.c2lnbmF0dXJlLWNyb3Nz"
SSO_TOKEN = "sso-crosscheck-access-token-0123456789"

# name, profile, config, credentials, extra env ({TOKEN}: the token file,
# {URL}: the emulator), SSO cache key or None
FIXTURES = [
    ("static keys, default profile", None, "", "[default]\n" + KEYS, {}, None),
    ("static keys, named profile in config", "p", "[profile p]\n" + KEYS, "", {}, None),
    ("source_profile with keys", "app",
     "[profile app]\nrole_arn = %sapp\nsource_profile = base\nrole_session_name = s1\n" % R,
     "[base]\n" + KEYS, {}, None),
    ("a chain of source profiles", "a",
     "[profile a]\nrole_arn = %sa\nsource_profile = b\n[profile b]\nrole_arn = %sb\n"
     "source_profile = base\n" % (R, R), "[base]\n" + KEYS, {}, None),
    ("static keys beat the source profile's role", "a",
     "[profile a]\nrole_arn = %sa\nsource_profile = b\n[profile b]\nrole_arn = %sb\n"
     "source_profile = base\n%s" % (R, R, KEYS), "[base]\n" + KEYS, {}, None),
    ("a profile as its own source", "a",
     "[profile a]\nrole_arn = %sa\nsource_profile = a\nexternal_id = x1\n%s" % (R, KEYS), "",
     {}, None),
    ("role_arn beats the profile's own keys", "a",
     "[profile a]\nrole_arn = %sa\nsource_profile = base\n%s" % (R, KEYS),
     "[base]\n" + KEYS, {}, None),
    ("credential_source EcsContainer", "c",
     "[profile c]\nrole_arn = %sc\ncredential_source = EcsContainer\n" % R, "",
     {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "{URL}/creds"}, None),
    ("credential_source Environment", "e",
     "[profile e]\nrole_arn = %se\ncredential_source = Environment\n" % R, "",
     {"AWS_ACCESS_KEY_ID": prtest.AKID, "AWS_SECRET_ACCESS_KEY": prtest.SECRET}, None),
    ("a source profile with credential_process", "app",
     "[profile app]\nrole_arn = %sapp\nsource_profile = proc\n"
     "[profile proc]\ncredential_process = {PROC}\n" % R, "", {}, None),
    ("web identity from the environment", None, "", "",
     {"AWS_WEB_IDENTITY_TOKEN_FILE": "{TOKEN}", "AWS_ROLE_ARN": R + "web",
      "AWS_ROLE_SESSION_NAME": "pod"}, None),
    ("web identity from a profile", "w",
     "[profile w]\nrole_arn = %sweb\nweb_identity_token_file = {TOKEN}\n" % R, "", {}, None),
    ("a role on top of a web identity", "top",
     "[profile top]\nrole_arn = %stop\nsource_profile = w\n"
     "[profile w]\nrole_arn = %sweb\nweb_identity_token_file = {TOKEN}\n" % (R, R), "", {},
     None),
    ("sso-session", "dev",
     "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
     "sso_role_name = Dev\n[sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\n"
     "sso_region = us-east-1\n", "", {}, "corp"),
    ("legacy SSO", "dev",
     "[profile dev]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n"
     "sso_account_id = 111122223333\nsso_role_name = Dev\n", "", {},
     "https://d-1.awsapps.com/start"),
    ("refused: a cycle", "a",
     "[profile a]\nrole_arn = %sa\nsource_profile = b\n[profile b]\nrole_arn = %sb\n"
     "source_profile = a\n" % (R, R), "", {}, None),
    ("refused: a missing source profile", "a",
     "[profile a]\nrole_arn = %sa\nsource_profile = nope\n" % R, "", {}, None),
    ("refused: role_arn without a source", "a", "[profile a]\nrole_arn = %sa\n" % R, "", {},
     None),
    ("refused: both sources", "a",
     "[profile a]\nrole_arn = %sa\nsource_profile = base\ncredential_source = Environment\n" % R,
     "[base]\n" + KEYS, {}, None),
    ("refused: STS denies the role", "d",
     "[profile d]\nrole_arn = %sdeny-me\nsource_profile = base\n" % R, "[base]\n" + KEYS, {},
     None),
    ("refused: web identity without a role", None, "", "",
     {"AWS_WEB_IDENTITY_TOKEN_FILE": "{TOKEN}"}, None),
    ("refused: an expired SSO token", "dev",
     "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
     "sso_role_name = Dev\n[sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\n"
     "sso_region = us-east-1\n", "", {}, "corp|expired"),
]

BOTOCORE = r"""
import os, sys, boto3, botocore.session
# Debian 12's botocore (1.29) does not read AWS_ENDPOINT_URL_<SERVICE>
# (botocore 1.31 and later do): every client this process makes, also those
# the credential providers make for STS and the SSO portal, gets it here.
_create_client = botocore.session.Session.create_client
def create_client(self, service_name, *a, **kw):
    url = os.environ.get("AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_"))
    if url and not kw.get("endpoint_url") and not (len(a) > 4 and a[4]):
        kw["endpoint_url"] = url
    return _create_client(self, service_name, *a, **kw)
botocore.session.Session.create_client = create_client
try:
    arn = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Arn"]
except Exception as e:
    print("REFUSED " + type(e).__name__ + ": " + str(e)[:200])
    sys.exit(0)
print("ARN " + arn)
"""


def prepare(ctx, emu, fx):
    name, profile, config, credentials, extra, sso = fx
    home = ctx.path("home")
    os.makedirs(os.path.join(home, ".aws", "sso", "cache"), exist_ok=True)
    tok = ctx.path("token")
    with open(tok, "w") as f:
        f.write(JWT)
    proc = ctx.path("proc.sh")
    with open(proc, "w") as f:
        f.write("#!/bin/sh\necho '%s'\n" % json.dumps(
            {"Version": 1, "AccessKeyId": prtest.AKID, "SecretAccessKey": prtest.SECRET}))
    os.chmod(proc, 0o755)

    def sub(s):
        return s.replace("{TOKEN}", tok).replace("{URL}", emu.url).replace("{PROC}", proc)
    cfg, cred = os.path.join(home, "cfg"), os.path.join(home, "cred")
    with open(cfg, "w") as f:
        f.write(sub(config))
    with open(cred, "w") as f:
        f.write(sub(credentials))
    if sso:
        key, _, state = sso.partition("|")
        delta = -120 if state == "expired" else 3600
        exp = (datetime.datetime.now(datetime.timezone.utc) +
               datetime.timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(os.path.join(home, ".aws", "sso", "cache",
                               hashlib.sha1(key.encode()).hexdigest() + ".json"), "w") as f:
            json.dump({"startUrl": "https://d-1.awsapps.com/start", "region": "us-east-1",
                       "accessToken": SSO_TOKEN, "expiresAt": exp}, f)
    env = ctx.env()
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(k, None)
    env.update({"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": cred,
                "AWS_ENDPOINT_URL_STS": emu.url, "AWS_ENDPOINT_URL_SSO": emu.url,
                "AWS_EC2_METADATA_DISABLED": "true"})
    if profile:
        env["AWS_PROFILE"] = profile
    env.update({k: sub(v) for k, v in extra.items()})
    return env


def ours(ctx, emu, env):
    r = ctx.cli(ctx.config(emu), ctx.state_dir(), "once", env=env)
    ids = sorted({x.get("identity") for x in prtest.Ledger(emu).lines
                  if x.get("signatureOk") and x["operation"] not in
                  ("AssumeRole", "GetCallerIdentity")})
    if r.rc != 0 and not ids:
        return "REFUSED", r
    check(len(ids) == 1, "our calls ran as %r" % ids)
    return ids[0], r


def theirs(env):
    p = subprocess.run([sys.executable, "-c", BOTOCORE], env=env, capture_output=True,
                       timeout=60, cwd="/")
    out = p.stdout.decode().strip().splitlines()
    line = out[-1] if out else "REFUSED (no output) " + p.stderr.decode()[-300:]
    return ("REFUSED", line) if line.startswith("REFUSED") else (line[4:], line)


def strip_session(arn, fx):
    if ":assumed-role/" in arn and "role_session_name" not in fx[2] and \
            "AWS_ROLE_SESSION_NAME" not in fx[4]:
        return arn.rsplit("/", 1)[0] + "/<default session>"
    return arn


def case(fx):
    def run(ctx):
        emu = ctx.emulator()
        env = prepare(ctx, emu, fx)
        mine, r = ours(ctx, emu, env)
        boto, detail = theirs(env)
        a, b = strip_session(mine, fx), strip_session(boto, fx)
        check(a == b, "ours: %s, botocore: %s (%s)\n%s" % (a, b, detail,
                                                          prtest.tail(r.err, 8)))
        ctx.log("both: %s", a)
    return run


if __name__ == "__main__":
    try:
        import boto3  # noqa: F401
    except ImportError:
        print("SKIP: boto3 is not installed")
        sys.exit(77)
    prtest.require_binaries()
    # each case mostly waits (a `once`, a python starting botocore): six at once
    prtest.main([(fx[0], case(fx)) for fx in FIXTURES], parallel=6)
