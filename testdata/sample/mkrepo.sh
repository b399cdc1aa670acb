#!/bin/sh
# mkrepo.sh OUTDIR: build the sample fork as a bare git repository.
#
# Branches:
#   main                 the base tree (testdata/sample/repo)
#   candidate/reference  main + every task's reference.patch
#   candidate/subset     main + the reference patches of SUBSET_TASKS
#                        + candidates/partial-server-pagination.patch
#   candidate/broken     main + candidates/broken.patch (server/handlers does not compile)
#   candidate/loop       main + candidates/loop.patch (ext-hook-chain never returns)
#
# Authors, committers and dates are fixed, and the caller's git configuration
# is ignored, so the commit SHAs are the same on every machine. The result is
# meant to be served read-only (git http-backend) or read from disk.
set -eu

SUBSET_TASKS="cli-version ui-format-bytes ext-registry ext-hook-chain"

die() {
	echo "mkrepo.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || {
	echo "usage: mkrepo.sh OUTDIR" >&2
	exit 2
}
out=$1
if [ -e "$out" ]; then
	[ -d "$out" ] || die "$out exists and is not a directory"
	[ -z "$(ls -A "$out")" ] || die "$out exists and is not empty"
fi

# git runs from other folders below: make OUTDIR absolute.
mkdir -p "$out"
out=$(cd "$out" && pwd)

here=$(cd "$(dirname "$0")" && pwd)
bank=$here/bank
[ -d "$here/repo" ] || die "$here/repo: base tree not found"
[ -d "$bank/tasks" ] || die "$bank/tasks: sample bank not found"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Ignore whatever git configuration and repository the caller has.
. "$here/gitenv.sh"
isolate_git "$tmp" "Meshery Sample" "sample@meshery.invalid"

work=$tmp/work
g() {
	git -C "$work" -c commit.gpgsign=false -c core.autocrlf=false -c core.hooksPath=/dev/null "$@"
}

# commit DATE MESSAGE: commit the index at a fixed time (seconds since the epoch).
commit() {
	GIT_AUTHOR_DATE="@$1 +0000" GIT_COMMITTER_DATE="@$1 +0000" g commit -q --no-verify -m "$2"
}

# apply PATCH: stage a patch or stop with a message naming it.
apply() {
	[ -s "$1" ] || die "$1: patch missing or empty"
	g apply --index --whitespace=nowarn "$1" 2>"$tmp/apply.err" ||
		die "$1 does not apply: $(cat "$tmp/apply.err")"
}

git -c init.defaultBranch=main init -q "$work"
cp -R "$here/repo/." "$work/"
g add --chmod=-x -A
commit 1736935200 "Meshery sample: server, mesheryctl, ui, models and extensions"

# branch NAME DATE MESSAGE PATCH...: a branch from main with the patches, in one commit.
branch() {
	name=$1 date=$2 msg=$3
	shift 3
	g checkout -q -b "$name" main
	for p in "$@"; do
		apply "$p"
	done
	commit "$date" "$msg"
	g checkout -q main
}

set --
for d in "$bank"/tasks/*/; do
	set -- "$@" "${d}reference.patch"
done
branch candidate/reference 1737021600 "Solve every task" "$@"

set --
for id in $SUBSET_TASKS; do
	[ -d "$bank/tasks/$id" ] || die "subset task $id: not in the bank"
	set -- "$@" "$bank/tasks/$id/reference.patch"
done
branch candidate/subset 1737108000 "Solve some tasks" "$@" "$here/candidates/partial-server-pagination.patch"
branch candidate/broken 1737194400 "Refactor JSON writing" "$here/candidates/broken.patch"
branch candidate/loop 1737280800 "Chain hooks" "$here/candidates/loop.patch"

git -c init.defaultBranch=main init -q --bare "$out"
g push -q "$out" 'refs/heads/*:refs/heads/*'
git -C "$out" config uploadpack.allowAnySHA1InWant true
git -C "$out" config http.receivepack false
git -C "$out" update-server-info
git -C "$out" for-each-ref --format='%(objectname) %(refname:short)' refs/heads
