package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Env returns the environment Git runs git with: the process environment
// without its GIT_* variables, no system or global config, and a fixed
// author, committer and date, so that the same steps make the same
// commit SHAs on every machine.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Candidate",
		"GIT_AUTHOR_EMAIL=candidate@example.com",
		"GIT_AUTHOR_DATE=2024-01-02T03:04:05Z",
		"GIT_COMMITTER_NAME=Candidate",
		"GIT_COMMITTER_EMAIL=candidate@example.com",
		"GIT_COMMITTER_DATE=2024-01-02T03:04:05Z",
	)
}

// Git runs git args in dir with Env and returns its standard output with
// the trailing newline removed. It fails t if git fails.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return GitInput(t, dir, "", args...)
}

// GitInput is Git with stdin as git's standard input (for commands such
// as mktree and hash-object --stdin).
func GitInput(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSuffix(stdout.String(), "\n")
}
