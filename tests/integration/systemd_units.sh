#!/bin/sh
# systemd_units.sh - the installed units are clean and hardened.
#
# 0. make deploy / undeploy's checks that need no systemd (also where
#    systemd-analyze is missing): with PR_DEPLOY_DRY_RUN=1, STACK_NAME=NAME
#    resolves to personalize-retrain@NAME (and says so), the variables given
#    as make arguments arrive, STACK_NAME and INSTANCE differing is refused;
#    as root, `scripts/deploy preflight` (which only reads) refuses the
#    shipped example config and a YAML copy of it, naming each line
#    FILE:LINE, and lets them through with ALLOW_EXAMPLE_CONFIG=1.
# 1. `make install DESTDIR=...` puts exactly the expected files, with the
#    expected modes, BINDIR substituted; `make uninstall` removes them all.
# 2. `systemd-analyze verify --man=no` on both units prints nothing.
# 3. `systemd-analyze security --offline=true` exposure <= 1.1 for both.
# 4. Both units share one hardening block.
# 1-4 need systemd-analyze (package systemd); skip (77) without it.
#
# run-tests: heavy duration=1
# (systemd-analyze verify leaves /run/systemd/systemd-units-load, a fixed path)
set -eu
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
MAX_EXPOSURE=${MAX_EXPOSURE:-1.1}
MAKE=${MAKE:-make}
fail() { echo "FAIL: $*"; exit 1; }

tmp=$(mktemp -d)
units_load=/run/systemd/systemd-units-load
had_units_load=0
[ -e "$units_load" ] && had_units_load=1
cleanup() {
	rm -rf "$tmp"
	# systemd-analyze verify, run as root, leaves this marker behind.
	[ "$had_units_load" -eq 1 ] || rm -f "$units_load" 2>/dev/null || true
}
trap cleanup EXIT

m() { $MAKE --no-print-directory -s BUILD="$BUILD_DIR" "$@"; }

# ---- 0. deploy's checks that need no systemd ------------------------------------
# As sudo would run it: a reset environment, the variables as make arguments.
# DESTDIR is a guard: should the dry-run hook be missing, deploy and undeploy
# refuse at once instead of acting on this machine.
dry() { env -i PATH="$PATH" PR_DEPLOY_DRY_RUN=1 $MAKE --no-print-directory -s BUILD="$BUILD_DIR" "$@" DESTDIR="$tmp/not-for-real" >"$tmp/dry.txt" 2>&1; }
want() { # TEXT: a line of the last dry run
	grep -qxF "$1" "$tmp/dry.txt" || { cat "$tmp/dry.txt"; fail "$dry_what: no line '$1'"; }
}
dry_what="make deploy STACK_NAME=prod PARAMS_FILE=prod.cfg"
dry deploy STACK_NAME=prod PARAMS_FILE=prod.cfg || { cat "$tmp/dry.txt"; fail "$dry_what (dry run) failed"; }
want "deploy: STACK_NAME=prod deploys the instance personalize-retrain@prod"
want "deploy: dry run: unit=personalize-retrain@prod.service config=/etc/personalize-retrain/prod.cfg source=prod.cfg replace_config=0 allow_example_config=0"
dry_what="make deploy INSTANCE=staging PARAMS_FILE=pipelines.yaml REPLACE_CONFIG=1 ALLOW_EXAMPLE_CONFIG=1"
dry deploy INSTANCE=staging PARAMS_FILE=pipelines.yaml REPLACE_CONFIG=1 ALLOW_EXAMPLE_CONFIG=1 || { cat "$tmp/dry.txt"; fail "$dry_what (dry run) failed"; }
want "deploy: dry run: unit=personalize-retrain@staging.service config=/etc/personalize-retrain/staging.yaml source=pipelines.yaml replace_config=1 allow_example_config=1"
dry_what="make deploy"
dry deploy || { cat "$tmp/dry.txt"; fail "$dry_what (dry run) failed"; }
want "deploy: dry run: unit=personalize-retrain.service config=/etc/personalize-retrain/parameters.cfg source=parameters.cfg replace_config=0 allow_example_config=0"
dry_what="make undeploy STACK_NAME=prod PURGE=1"
dry undeploy STACK_NAME=prod PURGE=1 || { cat "$tmp/dry.txt"; fail "$dry_what (dry run) failed"; }
want "undeploy: STACK_NAME=prod undeploys the instance personalize-retrain@prod"
want "undeploy: dry run: unit=personalize-retrain@prod.service config=/etc/personalize-retrain/prod.cfg purge=1"
dry_what="make deploy STACK_NAME=prod INSTANCE=prod"
dry deploy STACK_NAME=prod INSTANCE=prod || { cat "$tmp/dry.txt"; fail "$dry_what (the same name twice) refused"; }
want "deploy: dry run: unit=personalize-retrain@prod.service config=/etc/personalize-retrain/prod.cfg source=parameters.cfg replace_config=0 allow_example_config=0"
for t in deploy undeploy; do
	if dry $t STACK_NAME=prod INSTANCE=staging; then cat "$tmp/dry.txt"; fail "make $t STACK_NAME=prod INSTANCE=staging was not refused"; fi
	grep -q "^$t: STACK_NAME=prod and INSTANCE=staging differ" "$tmp/dry.txt" || { cat "$tmp/dry.txt"; fail "make $t STACK_NAME=prod INSTANCE=staging: no '$t: STACK_NAME=prod and INSTANCE=staging differ'"; }
	! grep -q 'dry run:' "$tmp/dry.txt" || fail "make $t STACK_NAME=prod INSTANCE=staging went on after refusing"
done
echo "deploy: STACK_NAME and the make arguments resolve as expected; STACK_NAME and INSTANCE differing refused"

# The example's placeholders: preflight only reads (nothing is installed), but
# wants root. The instance name is one nobody has deployed on this machine.
if [ "$(id -u)" -ne 0 ]; then
	echo "note: not root: the placeholder checks of scripts/deploy preflight are left to systemd_e2e.sh"
elif [ -e /etc/personalize-retrain/prtest-units.cfg ] || [ -e /etc/personalize-retrain/prtest-units.yaml ]; then
	echo "note: /etc/personalize-retrain/prtest-units.* exists here: placeholder checks skipped"
else
	pf() { env -i PATH="$PATH" INSTANCE=prtest-units "$@" scripts/deploy preflight >"$tmp/pf.txt" 2>&1; }
	{ echo "# a comment may name 123456789012 and my-campaign"
	  sed -n 's/^\([A-Za-z0-9]*\)=\(.*\)$/\1: "\2"/p' parameters.cfg; } >"$tmp/p.yaml"
	for f in parameters.cfg "$tmp/p.yaml"; do
		if pf PARAMS_FILE="$f"; then cat "$tmp/pf.txt"; fail "deploy preflight accepted $f, the shipped example"; fi
		lines=$(grep -v '^ *#' "$f" | grep -c '123456789012\|my-personalize-bucket')
		got=$(grep -c "^deploy: $f:[0-9]*: the example" "$tmp/pf.txt" || true)
		[ "$got" -eq "$lines" ] && [ "$lines" -ge 9 ] || { cat "$tmp/pf.txt"; fail "preflight named $got lines of $f, want its $lines lines with the example's account or names"; }
		for n in $(grep -n '123456789012\|my-personalize-bucket' "$f" | grep -v '^[0-9]*: *#' | cut -d: -f1); do
			grep -q "^deploy: $f:$n: " "$tmp/pf.txt" || { cat "$tmp/pf.txt"; fail "preflight did not name $f:$n"; }
		done
		grep -q "^deploy: $f:[0-9]*: .*the example account 123456789012" "$tmp/pf.txt" || fail "the refusal does not name the example account"
		grep -q "ALLOW_EXAMPLE_CONFIG=1" "$tmp/pf.txt" || { cat "$tmp/pf.txt"; fail "the refusal of $f does not mention ALLOW_EXAMPLE_CONFIG=1"; }
		pf PARAMS_FILE="$f" ALLOW_EXAMPLE_CONFIG=1 || { cat "$tmp/pf.txt"; fail "deploy preflight ALLOW_EXAMPLE_CONFIG=1 refused $f"; }
	done
	sed 's/123456789012/210987654321/; s/my-solution/shop-recs/; s/my-dataset-group/shop/; s/my-personalize-bucket/shop-exports/; s/my-campaign/shop-live/; s/PersonalizeS3ImportRole/ShopImport/' \
		parameters.cfg >"$tmp/mine.cfg"
	pf PARAMS_FILE="$tmp/mine.cfg" || { cat "$tmp/pf.txt"; fail "deploy preflight refused a config without the example's placeholders"; }
	echo "deploy: preflight refuses the example config (.cfg and YAML) naming each line, ALLOW_EXAMPLE_CONFIG=1 lets it through"
fi

command -v systemd-analyze >/dev/null 2>&1 || { echo "skip: systemd-analyze not installed (apt-get install systemd); section 0 passed"; exit 77; }
[ -x "$BUILD_DIR/personalize-retrain" ] || { echo "skip: $BUILD_DIR/personalize-retrain not built; section 0 passed"; exit 77; }

# ---- 1. install into a DESTDIR ------------------------------------------------
dest="$tmp/dest"
m install DESTDIR="$dest" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "make install DESTDIR=$dest failed"; }
(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort) >"$tmp/got.txt"
m install-files-list | sort >"$tmp/want.txt"
for f in /usr/local/bin/personalize-retrain \
	/usr/local/lib/systemd/system/personalize-retrain.service \
	/usr/local/lib/systemd/system/personalize-retrain@.service \
	/usr/local/lib/systemd/catalog/personalize-retrain.catalog; do
	grep -qx "$f" "$tmp/want.txt" || fail "install-files-list lacks $f"
done
for f in docs/*.5 docs/*.8; do
	[ -f "$f" ] || continue
	s=${f##*.}
	grep -qx "/usr/local/share/man/man$s/$(basename "$f")" "$tmp/want.txt" || fail "man page $f not installed"
done
if ! cmp -s "$tmp/got.txt" "$tmp/want.txt"; then
	echo "installed (<) vs expected (>):"; diff "$tmp/got.txt" "$tmp/want.txt" || true
	fail "make install DESTDIR= file list"
fi
echo "install DESTDIR: $(wc -l <"$tmp/got.txt") files as expected:"
sed 's/^/  /' "$tmp/got.txt"
mode() { stat -c %a "$1"; }
[ "$(mode "$dest/usr/local/bin/personalize-retrain")" = 755 ] || fail "binary mode $(mode "$dest/usr/local/bin/personalize-retrain")"
for u in personalize-retrain.service personalize-retrain@.service; do
	f="$dest/usr/local/lib/systemd/system/$u"
	[ "$(mode "$f")" = 644 ] || fail "$u mode $(mode "$f")"
	! grep -q '@[A-Z]*@' "$f" || fail "$u has an unsubstituted @VAR@"
	grep -qx 'ExecStart=/usr/local/bin/personalize-retrain -c ${PARAMS_FILE} run' "$f" || fail "$u: ExecStart does not use BINDIR"
done
m uninstall DESTDIR="$dest" >/dev/null
left=$(find "$dest" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"

# PREFIX=/usr: units go where systemd's pkg-config says (Debian: /lib/systemd/system).
m install DESTDIR="$tmp/usr" PREFIX=/usr >/dev/null 2>&1 || fail "make install PREFIX=/usr"
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
[ -f "$tmp/usr$unitdir/personalize-retrain.service" ] || fail "PREFIX=/usr: unit not in $unitdir"
[ -x "$tmp/usr/usr/bin/personalize-retrain" ] || fail "PREFIX=/usr: binary not in /usr/bin"

# ---- 2. verify: install under a real prefix so every path in the unit exists --
pfx="$tmp/prefix"
m install PREFIX="$pfx" >/dev/null 2>&1 || fail "make install PREFIX=$pfx"
ud="$pfx/lib/systemd/system"
for u in personalize-retrain.service personalize-retrain@.service; do
	systemd-analyze verify --man=no "$ud/$u" >"$tmp/verify.txt" 2>&1 || true
	if [ -s "$tmp/verify.txt" ]; then
		cat "$tmp/verify.txt"
		fail "systemd-analyze verify $u printed the above"
	fi
	echo "verify $u: clean"
done

# ---- 3. exposure ----------------------------------------------------------------
for u in personalize-retrain.service personalize-retrain@.service; do
	systemd-analyze security --offline=true "$ud/$u" >"$tmp/sec.txt" 2>&1 || true
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/sec.txt")
	[ -n "$score" ] || { cat "$tmp/sec.txt"; fail "no exposure score for $u"; }
	echo "exposure $u: $score (limit $MAX_EXPOSURE)"
	if ! awk -v s="$score" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 <= max + 0) }'; then
		grep -v '✓' "$tmp/sec.txt" || true
		fail "$u exposure $score > $MAX_EXPOSURE"
	fi
done

# ---- 4. one hardening block for both ---------------------------------------------
for u in personalize-retrain.service personalize-retrain@.service; do
	sed -n '/^CapabilityBoundingSet=/,$p' "systemd/$u.in" | grep -v '^#' >"$tmp/$u.hard"
done
cmp -s "$tmp/personalize-retrain.service.hard" "$tmp/personalize-retrain@.service.hard" ||
	{ diff "$tmp/personalize-retrain.service.hard" "$tmp/personalize-retrain@.service.hard" || true; fail "the two units' hardening differs"; }
echo "systemd units: ok"
