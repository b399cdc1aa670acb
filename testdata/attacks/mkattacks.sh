#!/bin/sh
# mkattacks.sh OUTDIR: build the sample fork (testdata/sample/mkrepo.sh) as a
# bare git repository in OUTDIR, plus one branch per attack:
#
#   attack/<name>  candidate/reference + code/<name>.patch, in one commit
#
# Every other task stays solved, so an attack that works, or that harms
# more than its target, shows as points won or lost. The patches name what
# they attack in their comments; the end-to-end scripts attack_*.txtar say
# what each must score.
#
# Git stores a file's mode as 100644 or 100755 only: this script asks git
# to stage code/escape-setuid.patch's helper with mode 104755 (setuid) and
# checks that what git stores and commits is 100755.
#
# Authors, committers and dates are fixed and the caller's git
# configuration is ignored, so the commit SHAs are the same on every
# machine.
set -eu

die() {
	echo "mkattacks.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || {
	echo "usage: mkattacks.sh OUTDIR" >&2
	exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/../sample/mkrepo.sh" "$1" >/dev/null
out=$(cd "$1" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

. "$here/../sample/gitenv.sh"
isolate_git "$tmp" "Meshery Attacker" "attacker@meshery.invalid"

work=$tmp/work
g() {
	git -C "$work" -c commit.gpgsign=false -c core.autocrlf=false -c core.hooksPath=/dev/null "$@"
}
git -c core.hooksPath=/dev/null clone -q "$out" "$work"

date=1738000000
for p in "$here"/code/*.patch; do
	name=$(basename "$p" .patch)
	g checkout -q -b "attack/$name" origin/candidate/reference
	g apply --index --whitespace=nowarn "$p" 2>"$tmp/apply.err" ||
		die "$p does not apply on candidate/reference: $(cat "$tmp/apply.err")"
	if [ "$name" = escape-setuid ]; then
		# Ask for the helper to be committed setuid (mode 104755): git
		# either refuses or keeps only 100755, the sole executable mode
		# a tree can hold.
		f=server/handlers/rootsh
		[ -f "$work/$f" ] || die "$p: $f missing"
		chmod 755 "$work/$f"
		blob=$(g hash-object -w "$f")
		g update-index --cacheinfo "104755,$blob,$f" 2>/dev/null || g update-index --chmod=+x "$f"
		mode=$(g ls-files -s "$f" | cut -d' ' -f1)
		[ "$mode" = 100755 ] || die "$f: staged with mode $mode, want 100755 (git cannot store setuid)"
	fi
	GIT_AUTHOR_DATE="@$date +0000" GIT_COMMITTER_DATE="@$date +0000" \
		g commit -q --no-verify -m "Attack: $name"
	if [ "$name" = escape-setuid ]; then
		mode=$(g ls-tree HEAD server/handlers/rootsh | cut -d' ' -f1)
		[ "$mode" = 100755 ] || die "server/handlers/rootsh: committed with mode $mode, want 100755"
	fi
	date=$((date + 3600))
done

g push -q "$out" 'refs/heads/attack/*:refs/heads/attack/*'
git -C "$out" update-server-info
git -C "$out" for-each-ref --format='%(objectname) %(refname:short)' refs/heads
