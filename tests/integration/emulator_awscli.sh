#!/bin/sh
# emulator_awscli - the emulator against the aws CLI (a client nobody here
# wrote): a whole import -> train -> deploy cycle with
# `aws personalize ... --endpoint-url`, a tampered signature (wrong secret)
# rejected, deploying a version that is not ACTIVE rejected with the real
# error, a duplicate import rejected with the real error, a validation error.
# Exit 77 when the aws CLI is missing.
#
# run-tests: duration=20
set -u

command -v aws >/dev/null 2>&1 || { echo "SKIP: no aws CLI (scripts/install-deps installs awscli)"; exit 77; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
EMU="$BUILD_DIR/personalize-emulator"
[ -x "$EMU" ] || { echo "FAIL: $EMU not built"; exit 1; }

TMP=$(mktemp -d)
PID=
cleanup() {
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# The test-scale world with jobs that take a minute of emulator time; the
# test moves that clock with POST /_emulator/advance, so nothing depends on
# how fast the CLI is on this machine.
sed -e 's/"pendingMs": [0-9]*/"pendingMs": 30000/' -e 's/"importMs": [0-9]*/"importMs": 60000/' -e 's/"trainingMs": [0-9]*/"trainingMs": 60000/' \
	-e 's/"campaignUpdateMs": [0-9]*/"campaignUpdateMs": 60000/' \
	"$ROOT/tests/emulator/worlds/test.json" >"$TMP/world.json"
"$EMU" --port 0 --port-file "$TMP/port" --ledger "$TMP/ledger" --world "$TMP/world.json" --exit-with-parent \
	--cred AKIDAWSCLITEST:awscli/test/secret >"$TMP/out" 2>"$TMP/err" &
PID=$!
i=0
while [ ! -s "$TMP/port" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$PID" 2>/dev/null; then
		echo "FAIL: emulator did not start"; cat "$TMP/err"; exit 1
	fi
	sleep 0.05
done
PORT=$(cat "$TMP/port")

export AWS_ACCESS_KEY_ID=AKIDAWSCLITEST AWS_SECRET_ACCESS_KEY=awscli/test/secret
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
unset AWS_SESSION_TOKEN AWS_PROFILE 2>/dev/null || true

A="arn:aws:personalize:us-east-1:123456789012"
ROLE="arn:aws:iam::123456789012:role/PersonalizeS3ImportRole"
CAMPAIGN="$A:campaign/my-campaign"
SOLUTION="$A:solution/my-solution"
failures=0

p() { aws personalize --endpoint-url "http://127.0.0.1:$PORT" --output text "$@"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

# expect_error CODE CMD...: the command fails and stderr names CODE
expect_error() {
	code=$1; shift
	if "$@" >"$TMP/o" 2>"$TMP/e"; then
		fail "expected $code from: $*"
	elif grep -q "($code)" "$TMP/e"; then
		ok "$code"
	else
		fail "expected $code, got: $(cat "$TMP/e")"
	fi
}

# check_status WHAT QUERY WANT CMD...: the query of the command's answer gives WANT
check_status() {
	what=$1 query=$2 want=$3; shift 3
	st=$("$@" --query "$query" 2>"$TMP/e")
	if [ "$st" = "$want" ]; then ok "$what $want"; else fail "$what: status $st, wanted $want $(cat "$TMP/e")"; fi
}

advance() { # let 100 s of emulator time pass: any job ends
	curl -sf -X POST -d '{"ms": 100000}' "http://127.0.0.1:$PORT/_emulator/advance" >/dev/null ||
		fail "POST /_emulator/advance"
}

# --- import: three datasets at once -----------------------------------------
for t in USERS ITEMS INTERACTIONS; do
	lt=$(echo "$t" | tr 'A-Z' 'a-z')
	arn=$(p create-dataset-import-job --job-name "cli-$lt" --dataset-arn "$A:dataset/my-dataset-group/$t" \
		--data-source "dataLocation=s3://bucket/$lt.csv" --role-arn "$ROLE" \
		--import-mode FULL --query datasetImportJobArn 2>"$TMP/e")
	[ "$arn" = "$A:dataset-import-job/cli-$lt" ] || fail "create import $t: $arn $(cat "$TMP/e")"
done
expect_error ResourceAlreadyExistsException p create-dataset-import-job --job-name cli-users \
	--dataset-arn "$A:dataset/my-dataset-group/USERS" --data-source dataLocation=s3://b/u.csv --role-arn "$ROLE"
expect_error ResourceInUseException p create-dataset-import-job --job-name cli-users-2 \
	--dataset-arn "$A:dataset/my-dataset-group/USERS" --data-source dataLocation=s3://b/u.csv --role-arn "$ROLE"
check_status "import users" datasetImportJob.status "CREATE PENDING" \
	p describe-dataset-import-job --dataset-import-job-arn "$A:dataset-import-job/cli-users"
advance
for lt in users items interactions; do
	check_status "import $lt" datasetImportJob.status ACTIVE \
		p describe-dataset-import-job --dataset-import-job-arn "$A:dataset-import-job/cli-$lt"
done

# --- train --------------------------------------------------------------------
V=$(p create-solution-version --solution-arn "$SOLUTION" --training-mode FULL --query solutionVersionArn)
case "$V" in "$SOLUTION"/????????) ok "version $V" ;; *) fail "create-solution-version: $V" ;; esac
expect_error InvalidInputException p update-campaign --campaign-arn "$CAMPAIGN" --solution-version-arn "$V"
advance
check_status "training" solutionVersion.status ACTIVE p describe-solution-version --solution-version-arn "$V"
p get-solution-metrics --solution-version-arn "$V" --output json >"$TMP/m" && grep -q precision_at_5 "$TMP/m" \
	&& ok "metrics" || fail "get-solution-metrics"

# --- deploy -----------------------------------------------------------------------
p update-campaign --campaign-arn "$CAMPAIGN" --solution-version-arn "$V" >/dev/null || fail "update-campaign"
served=$(p describe-campaign --campaign-arn "$CAMPAIGN" --query campaign.solutionVersionArn)
[ "$served" = "$SOLUTION/0a1b2c3d" ] && ok "old version served during the update" || fail "served $served during the update"
check_status "campaign update" campaign.latestCampaignUpdate.status "UPDATE PENDING" \
	p describe-campaign --campaign-arn "$CAMPAIGN"
advance
check_status "campaign update" campaign.latestCampaignUpdate.status ACTIVE \
	p describe-campaign --campaign-arn "$CAMPAIGN"
served=$(p describe-campaign --campaign-arn "$CAMPAIGN" --query campaign.solutionVersionArn)
[ "$served" = "$V" ] && ok "new version served" || fail "served $served after the update"

# --- errors a client meets ---------------------------------------------------------
expect_error ResourceNotFoundException p describe-campaign --campaign-arn "$A:campaign/nope"
expect_error InvalidSignatureException env AWS_SECRET_ACCESS_KEY=not-the-secret \
	aws personalize --endpoint-url "http://127.0.0.1:$PORT" list-campaigns
expect_error UnrecognizedClientException env AWS_ACCESS_KEY_ID=AKIDNOBODY \
	aws personalize --endpoint-url "http://127.0.0.1:$PORT" list-campaigns
n=$(p list-dataset-import-jobs --max-items 1 --output json | grep -c datasetImportJobArn)
[ "$n" = 1 ] && ok "pagination" || fail "list-dataset-import-jobs --max-items 1 gave $n"
total=$(p list-dataset-import-jobs --page-size 1 --output json | grep -c datasetImportJobArn)
[ "$total" = 3 ] && ok "paginated through 3 jobs" || fail "paginated total $total"

# --- the ledger saw exactly one successful create per dataset -----------------------
n=$(grep '"operation":"CreateDatasetImportJob"' "$TMP/ledger" | grep -c '"status":200')
[ "$n" = 3 ] && ok "ledger: 3 imports" || fail "ledger shows $n successful imports"
grep -q '"error":"InvalidSignatureException"' "$TMP/ledger" && ok "ledger: signature failure" \
	|| fail "ledger lacks the signature failure"
if grep -q 'awscli/test/secret' "$TMP/ledger"; then fail "secret in the ledger"; fi

kill -TERM "$PID"
wait "$PID"
st=$?
PID=
[ "$st" = 0 ] && ok "clean exit on SIGTERM" || fail "exit status $st after SIGTERM"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
exit 0
