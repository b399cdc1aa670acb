#!/bin/sh
# mkhostile.sh OUTDIR [CANARY]: build a bare repository of hostile forks.
#
# Branch main is the sample's base (testdata/sample, branch main). Every
# other branch, hostile/NAME, is one shape a candidate's repository can
# take to attack the grader, crafted with git plumbing where git's porcelain
# refuses. Unless said otherwise a branch also holds the solution of
# server-health (server/handlers/health.go of the sample's reference), so
# grading it normally earns that task's 2 points.
#
#   symlink-out     symlinks to /etc/passwd, to ../../.. and to CANARY (an
#                   absolute path outside the repository, if given)
#   symlink-hidden  NOT solved; server/handlers/cmc_health_test.go, where the
#                   hidden test goes, is a symlink to forged always-passing
#                   tests of the same names
#   dir-at-hidden   a folder at server/handlers/cmc_health_test.go holding
#                   forged tests
#   dotdot-names    entries named .. and . (a folder .. with a file in it)
#   absolute-names  entries whose names hold slashes: /etc/cron.d/cmc-evil,
#                   /tmp/cmc-evil-dir
#   backslash-names names with backslashes: ..\..\cmc-evil.txt and
#                   server\handlers\cmc_health_test.go
#   non-utf8-names  a Go file and a folder whose names are not UTF-8; the Go
#                   file panics at init if compiled
#   case-collide    A.go and a.go, README.md and readme.md side by side
#   submodule       a gitlink at server/handlers/sub and a .gitmodules whose
#                   update command would run a program
#   nested-git      .git folders (config with fsmonitor and worktree, a
#                   hook) at the top and in server/handlers
#   huge-pack       a 3 MiB file of random hex: the pack is over 1 MiB
#   huge-bomb       a 16 MiB file of zeros: a tiny pack that unpacks to more
#                   than 4 MiB
#   history         3000 commits on top of main, then the solution: the full
#                   history's pack is far larger than the last commit's
#
# Authors, committers and dates are fixed and the caller's git configuration
# is ignored (as in testdata/sample/mkrepo.sh). The objects are written into
# OUTDIR directly: git's own checks of trees (fsck) never run on them, as
# they would not on a hostile server.
set -eu

die() {
	echo "mkhostile.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || [ $# -eq 2 ] || {
	echo "usage: mkhostile.sh OUTDIR [CANARY]" >&2
	exit 2
}
out=$1
canary=${2:-}
case $canary in
"" | /*) ;;
*) die "CANARY must be an absolute path, got $canary" ;;
esac
if [ -e "$out" ]; then
	[ -d "$out" ] || die "$out exists and is not a directory"
	[ -z "$(ls -A "$out")" ] || die "$out exists and is not empty"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

here=$(cd "$(dirname "$0")" && pwd)
fix=$here/hostile
sample=$here/../sample
[ -f "$sample/mkrepo.sh" ] || die "$sample/mkrepo.sh: sample fixture not found"
[ -d "$fix" ] || die "$fix: fixture files not found"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

. "$sample/gitenv.sh"
isolate_git "$tmp" "Hostile Candidate" "hostile@meshery.invalid"
GIT_AUTHOR_DATE="@1738000000 +0000"
GIT_COMMITTER_DATE="@1738000000 +0000"
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE

G() {
	git -C "$out" -c core.hooksPath=/dev/null "$@"
}

# The sample's main, and the solution of server-health from its reference.
sh "$sample/mkrepo.sh" "$tmp/sample.git" >/dev/null
git -c init.defaultBranch=main init -q --bare "$out"
G fetch -q "$tmp/sample.git" refs/heads/main:refs/heads/main refs/heads/candidate/reference:refs/solved
main=$(G rev-parse main)
health=$(G rev-parse refs/solved:server/handlers/health.go)
G update-ref -d refs/solved

# blob TEXT: write a blob of TEXT (printf %b escapes) and print its SHA.
blob() {
	printf '%b' "$1" | G hash-object -w --stdin
}

# blobf FILE: write a blob of FILE and print its SHA.
blobf() {
	G hash-object -w --stdin <"$1"
}

# put TREE DIR NAME MODE SHA: print the SHA of TREE with the entry NAME (any
# bytes but NUL, slash, tab and newline) set to MODE SHA in the folder DIR
# ("" for the top), replacing an entry of that name. Missing folders on the
# way are made.
put() (
	tree=$1 dir=$2 name=$3 mode=$4 sha=$5
	if [ -n "$dir" ]; then
		first=${dir%%/*}
		rest=${dir#"$first"}
		rest=${rest#/}
		sub=$(G rev-parse -q --verify "$tree:$first" 2>/dev/null) || sub=$(G mktree </dev/null)
		sha=$(put "$sub" "$rest" "$name" "$mode" "$sha")
		name=$first mode=040000
	fi
	case $mode in
	040000) type=tree ;;
	160000) type=commit ;;
	*) type=blob ;;
	esac
	{
		G ls-tree -z "$tree" | tr '\0\n' '\n\0' | NAME=$name awk -F '\t' '$2 != ENVIRON["NAME"]'
		printf '%s %s %s\t%s\n' "$mode" "$type" "$sha" "$name"
	} | tr '\0\n' '\n\0' | G mktree -z
)

# hexbin HEX: write HEX as bytes.
hexbin() {
	h=$1 o=
	while [ -n "$h" ]; do
		b=${h%"${h#??}"}
		h=${h#??}
		o="$o$(printf '\\%03o' "0x$b")"
	done
	printf "$o"
}

# branch NAME TREE [PARENT]: commit TREE on PARENT (default main) as
# hostile/NAME.
branch() {
	c=$(G commit-tree -p "${3:-$main}" -m "hostile: $1" "$2")
	G update-ref "refs/heads/hostile/$1" "$c"
}

base=$(G rev-parse "main^{tree}")
solved=$(put "$base" server/handlers health.go 100644 "$health")
fake=$(blobf "$fix/fake_health_test.go.txt")
panic=$(blobf "$fix/panic.go.txt")

# symlink-out
t=$(put "$solved" "" etc-passwd 120000 "$(blob /etc/passwd)")
t=$(put "$t" server/handlers up 120000 "$(blob ../../..)")
t=$(put "$t" server/handlers deep 120000 "$(blob ../../../../../../../../../../etc)")
if [ -n "$canary" ]; then
	t=$(put "$t" "" canary 120000 "$(blob "$canary")")
	t=$(put "$t" server/handlers canary.txt 120000 "$(blob "$canary")")
fi
branch symlink-out "$t"

# symlink-hidden: not solved.
t=$(put "$base" server/handlers fake_health.txt 100644 "$fake")
t=$(put "$t" server/handlers cmc_health_test.go 120000 "$(blob fake_health.txt)")
branch symlink-hidden "$t"

# dir-at-hidden
d=$(put "$(G mktree </dev/null)" "" evil_test.go 100644 "$fake")
branch dir-at-hidden "$(put "$solved" server/handlers cmc_health_test.go 040000 "$d")"

# dotdot-names
d=$(put "$(G mktree </dev/null)" "" cmc-evil.txt 100644 "$(blob 'written above the workspace\n')")
t=$(put "$solved" "" .. 040000 "$d")
t=$(put "$t" "" . 100644 "$(blob 'a file named .\n')")
t=$(put "$t" server/handlers .. 100644 "$panic")
branch dotdot-names "$t"

# absolute-names: git mktree refuses slashes in names, so the top tree is
# written raw: "MODE NAME\0" and the 20-byte SHA, per entry.
evil=$(blob '* * * * * root touch /tmp/cmc-evil-cron\n')
d=$(put "$(G mktree </dev/null)" "" payload.sh 100755 "$evil")
raw=$tmp/abs.tree
: >"$raw"
G ls-tree -z "$solved" | tr '\0\n' '\n\0' | while IFS= read -r line; do
	meta=${line%%"	"*}
	name=${line#*"	"}
	mode=${meta%% *}
	sha=${meta##* }
	[ "$mode" = 040000 ] && mode=40000
	printf '%s %s\0' "$mode" "$name" >>"$raw"
	hexbin "$sha" >>"$raw"
done
{
	printf '100644 /etc/cron.d/cmc-evil\0'
	hexbin "$evil"
	printf '40000 /tmp/cmc-evil-dir\0'
	hexbin "$d"
} >>"$raw"
branch absolute-names "$(G hash-object -t tree -w --literally "$raw")"

# backslash-names
t=$(put "$solved" "" '..\..\cmc-evil.txt' 100644 "$(blob 'backslashes are not separators\n')")
t=$(put "$t" "" 'server\handlers\cmc_health_test.go' 100644 "$fake")
branch backslash-names "$t"

# non-utf8-names
t=$(put "$solved" server/handlers "$(printf 'bad\377.go')" 100644 "$panic")
t=$(put "$t" "" "$(printf '\376\377')" 040000 "$(put "$(G mktree </dev/null)" "" x.go 100644 "$panic")")
branch non-utf8-names "$t"

# case-collide
t=$(put "$solved" server/handlers A.go 100644 "$(blob 'package handlers\n\nconst caseUpper = 1\n')")
t=$(put "$t" server/handlers a.go 100644 "$(blob 'package handlers\n\nconst caseLower = 2\n')")
t=$(put "$t" "" readme.md 100644 "$(blob 'lower case\n')")
branch case-collide "$t"

# submodule
t=$(put "$solved" server/handlers sub 160000 "$main")
t=$(put "$t" "" .gitmodules 100644 "$(blobf "$fix/gitmodules")")
branch submodule "$t"

# nested-git
hooks=$(put "$(G mktree </dev/null)" "" post-checkout 100755 "$(blobf "$fix/post-checkout")")
d=$(put "$(G mktree </dev/null)" "" config 100644 "$(blobf "$fix/git-config")")
d=$(put "$d" "" hooks 040000 "$hooks")
d=$(put "$d" "" HEAD 100644 "$(blob 'ref: refs/heads/main\n')")
t=$(put "$solved" server/handlers .git 040000 "$d")
t=$(put "$t" "" .git 040000 "$d")
branch nested-git "$t"

# huge-pack: random hex compresses to about half, well over 1 MiB.
awk 'BEGIN { srand(7); for (i = 0; i < 393216; i++) printf "%08x", int(rand() * 4294967296) }' >"$tmp/noise.txt"
branch huge-pack "$(put "$solved" assets noise.txt 100644 "$(blobf "$tmp/noise.txt")")"

# huge-bomb
head -c 16777216 /dev/zero >"$tmp/zeros.bin"
branch huge-bomb "$(put "$solved" assets zeros.bin 100644 "$(blobf "$tmp/zeros.bin")")"

# history: 3000 commits made by one fast-import, then the solution.
i=1
{
	while [ "$i" -le 3000 ]; do
		printf 'commit refs/heads/hostile/history\ncommitter Hostile Candidate <hostile@meshery.invalid> %d +0000\ndata 12\ncommit %05d\n' $((1738000000 + i)) "$i"
		[ "$i" -eq 1 ] && printf 'from %s\n' "$main"
		printf 'M 100644 inline history/log.txt\ndata 59\nline %05d of a long history: %028d\n\n' "$i" "$i"
		i=$((i + 1))
	done
} | G fast-import --quiet
tip=$(G rev-parse refs/heads/hostile/history)
branch history "$(put "$(G rev-parse "$tip^{tree}")" server/handlers health.go 100644 "$health")" "$tip"

G config uploadpack.allowAnySHA1InWant true
G config http.receivepack false
G update-server-info
G for-each-ref --format='%(objectname) %(refname:short)' refs/heads
