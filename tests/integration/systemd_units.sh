#!/bin/sh
# systemd_units.sh - the installed units are clean and hardened.
#
# 1. `make install DESTDIR=...` puts exactly the expected files, with the
#    expected modes, BINDIR substituted; `make uninstall` removes them all.
# 2. `systemd-analyze verify --man=no` on both units prints nothing.
# 3. `systemd-analyze security --offline=true` exposure <= 1.1 for both.
# 4. Both units share one hardening block.
# Needs systemd-analyze (package systemd); skips (77) without it.
#
# run-tests: exclusive duration=1
# (systemd-analyze verify leaves /run/systemd/systemd-units-load, a fixed path)
set -eu
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
MAX_EXPOSURE=${MAX_EXPOSURE:-1.1}
MAKE=${MAKE:-make}
fail() { echo "FAIL: $*"; exit 1; }

command -v systemd-analyze >/dev/null 2>&1 || { echo "skip: systemd-analyze not installed (apt-get install systemd)"; exit 77; }
[ -x "$BUILD_DIR/personalize-retrain" ] || { echo "skip: $BUILD_DIR/personalize-retrain not built"; exit 77; }

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
