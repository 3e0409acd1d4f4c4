#!/bin/sh
# msgid_catalog.sh - include/msgid.h and systemd/personalize-retrain.catalog
# name the same MESSAGE_IDs; every id is 128 random bits, unique, and the
# catalog compiles with journalctl and carries the fields the header promises.
#
# run-tests: duration=1
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

hdr=include/msgid.h
cat=systemd/personalize-retrain.catalog

# What C sees: compile a program that prints every MSGID_* macro of the header.
sed -n 's/^#define \(MSGID_[A-Z_]*\)[ \t]*"\([0-9a-f]*\)".*/\1 \2/p' "$hdr" | sort >"$tmp/hdr.txt"
[ -s "$tmp/hdr.txt" ] || fail "no MSGID_ macros in $hdr"
{
	echo '#include <stdio.h>'
	echo '#include "msgid.h"'
	echo 'int main(void) {'
	while read -r n _; do
		printf '\tprintf("%%s %%s\\n", "%s", %s);\n' "$n" "$n"
		printf '\tprintf("FIELD %%s\\n", MSGID_FIELD(%s));\n' "$n"
	done <"$tmp/hdr.txt"
	echo '	return 0; }'
} >"$tmp/p.c"
${CC:-cc} -std=c11 -Wall -Wextra -Werror -Iinclude -o "$tmp/p" "$tmp/p.c" || fail "$hdr does not compile"
"$tmp/p" >"$tmp/c.txt"
grep -v '^FIELD ' "$tmp/c.txt" | sort >"$tmp/c-ids.txt"
cmp -s "$tmp/c-ids.txt" "$tmp/hdr.txt" || fail "macros as compiled differ from the #define lines"
while read -r n id; do
	grep -qx "FIELD MESSAGE_ID=$id" "$tmp/c.txt" || fail "MSGID_FIELD($n) is not MESSAGE_ID=$id"
done <"$tmp/hdr.txt"

# Well-formed ids: 32 lower-case hex digits, version-4-style random ids, no repeats.
cut -d' ' -f2 "$tmp/hdr.txt" | sort >"$tmp/hdr-ids.txt"
while read -r id; do
	echo "$id" | grep -Eqx '[0-9a-f]{32}' || fail "bad id '$id' in $hdr"
done <"$tmp/hdr-ids.txt"
[ "$(uniq -d "$tmp/hdr-ids.txt" | wc -l)" -eq 0 ] || fail "repeated ids in $hdr: $(uniq -d "$tmp/hdr-ids.txt")"

# The catalog: same set of ids.
sed -n 's/^-- \([0-9a-fA-F]*\)$/\1/p' "$cat" | sort >"$tmp/cat-ids.txt"
[ "$(uniq -d "$tmp/cat-ids.txt" | wc -l)" -eq 0 ] || fail "repeated ids in $cat"
if ! cmp -s "$tmp/hdr-ids.txt" "$tmp/cat-ids.txt"; then
	echo "ids only in $hdr / only in $cat:"
	comm -3 "$tmp/hdr-ids.txt" "$tmp/cat-ids.txt"
	fail "$hdr and $cat disagree"
fi

# journalctl compiles it, and lists each id with a subject.
if command -v journalctl >/dev/null 2>&1; then
	mkdir -p "$tmp/root/usr/lib/systemd/catalog"
	cp "$cat" "$tmp/root/usr/lib/systemd/catalog/"
	journalctl --root="$tmp/root" --update-catalog >"$tmp/upd.txt" 2>&1 || { cat "$tmp/upd.txt"; fail "journalctl --update-catalog rejected $cat"; }
	[ ! -s "$tmp/upd.txt" ] || { cat "$tmp/upd.txt"; fail "journalctl --update-catalog complained"; }
	journalctl --root="$tmp/root" --list-catalog >"$tmp/list.txt"
	while read -r id; do
		grep -q "^$id personalize-retrain: ." "$tmp/list.txt" || fail "$id not listed by journalctl --list-catalog"
	done <"$tmp/hdr-ids.txt"
	echo "journalctl compiles the catalog: $(wc -l <"$tmp/list.txt") entries"
else
	echo "note: journalctl missing, catalog syntax not checked"
fi

# Each entry has Subject/Defined-By/Documentation, and the fields named in the
# header's comment are the only @FIELD@s the texts use.
for id in $(cat "$tmp/hdr-ids.txt"); do
	awk -v id="$id" '$0 == "-- " id { on = 1; next } /^-- / { on = 0 } on' "$cat" >"$tmp/e.txt"
	for h in Subject Defined-By Documentation; do
		grep -q "^$h: ." "$tmp/e.txt" || fail "catalog entry $id has no $h:"
	done
done
for f in $(grep -v '^#' "$cat" | grep -o '@[A-Z_]*@' | sort -u | tr -d @); do
	grep -q "$f=" "$hdr" || fail "catalog uses @$f@ but $hdr does not tell the daemon to log $f="
done
echo "msgid: $(wc -l <"$tmp/hdr-ids.txt") ids agree between $hdr and $cat"
