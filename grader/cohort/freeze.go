package cohort

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/atomicfile"
	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
	"github.com/cmcgrader/cmcgrader/internal/jsonout"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// FreezeSignatureDomain opens the message a freeze file's signature signs
// (see report.SignFile): a report's signature never verifies as a
// freeze's, nor the reverse.
const FreezeSignatureDomain = "cmcgrader freeze signature v1\n"

// MaxFreezeBytes bounds the size of a freeze file read by LoadFreeze.
const MaxFreezeBytes = 64 << 20

// Resolve reads, for every candidate of the roster, which commit their
// branch points to now, with resolve (repo.ResolveBranch in practice),
// at most jobs at once (at least one), and returns the freeze taken at
// now. Commits and Problems keep the roster's order. A candidate whose
// branch could not be read, for whatever reason, is a problem with that
// reason, never a failure of the freeze; once ctx ends, the candidates
// not yet read are problems too.
func Resolve(ctx context.Context, r *Roster, resolve func(context.Context, Candidate) (string, error), jobs int, now time.Time) *Freeze {
	jobs = max(1, min(jobs, len(r.Candidates)))
	shas := make([]string, len(r.Candidates))
	errs := make([]error, len(r.Candidates))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for i := range next {
				if err := context.Cause(ctx); err != nil {
					errs[i] = fmt.Errorf("not read: %w", err)
					continue
				}
				shas[i], errs[i] = resolve(ctx, r.Candidates[i])
			}
		})
	}
	for i := range r.Candidates {
		next <- i
	}
	close(next)
	wg.Wait()

	f := &Freeze{Version: FreezeVersion, Roster: r.Digest, At: now.UTC(), Commits: []FrozenCommit{}, Problems: []FreezeProblem{}}
	for i, c := range r.Candidates {
		sha, err := strings.ToLower(shas[i]), errs[i]
		if err == nil && !gitref.IsCommit(sha) {
			err = fmt.Errorf("the branch resolved to %q, not a full commit SHA", escape.OneLine(shas[i], 80))
		}
		if err != nil {
			f.Problems = append(f.Problems, FreezeProblem{Candidate: c.ID, Repo: c.Repo, Branch: c.Branch, Reason: err.Error()})
			continue
		}
		f.Commits = append(f.Commits, FrozenCommit{Candidate: c.ID, Repo: c.Repo, Branch: c.Branch, Commit: sha})
	}
	f.buildIndex()
	return f
}

// Commit returns the commit frozen for the candidate, and false when the
// freeze holds none (a problem, or not in the roster).
func (f *Freeze) Commit(candidate string) (string, bool) {
	if i, ok := f.index[candidate]; ok && i < len(f.Commits) && f.Commits[i].Candidate == candidate {
		return f.Commits[i].Commit, true
	}
	// A freeze built by hand, or changed since it was indexed.
	for _, c := range f.Commits {
		if c.Candidate == candidate {
			return c.Commit, true
		}
	}
	return "", false
}

func (f *Freeze) buildIndex() {
	f.index = make(map[string]int, len(f.Commits))
	for i, c := range f.Commits {
		f.index[c.Candidate] = i
	}
}

// WriteText lists the freeze: a line per candidate frozen (id, commit,
// branch), then one per problem (id and reason), each in roster order,
// then the summary line.
func (f *Freeze) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	for _, c := range f.Commits {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", escape.Line(c.Candidate), c.Commit, escape.Line(c.Branch))
	}
	for _, p := range f.Problems {
		fmt.Fprintf(tw, "%s\tproblem\t%s\n", escape.Line(p.Candidate), escape.Line(p.Reason))
	}
	tw.Flush()
	fmt.Fprintf(bw, "%s\n", f.Summary())
	return bw.Flush()
}

// Summary says in one line how many commits were frozen, when, and how
// many candidates have none.
func (f *Freeze) Summary() string {
	n := len(f.Commits) + len(f.Problems)
	s := fmt.Sprintf("froze %d of %d candidates at %s (roster %s)", len(f.Commits), n, f.At.Format(time.RFC3339), f.Roster)
	switch len(f.Problems) {
	case 0:
		return s
	case 1:
		return s + "; 1 problem: that candidate is not graded from this freeze"
	}
	return fmt.Sprintf("%s; %d problems: those candidates are not graded from this freeze", s, len(f.Problems))
}

// WriteFreeze writes f as JSON to the file name and, when key is given,
// its signature file (report.SignaturePath: name plus ".sig", signed
// with FreezeSignatureDomain) over the exact bytes written; the two are
// replaced together. Without a key, a signature file left there by an
// earlier freeze is removed.
func WriteFreeze(name string, f *Freeze, key ed25519.PrivateKey) error {
	var buf bytes.Buffer
	if err := jsonout.Write(&buf, f); err != nil {
		return fmt.Errorf("write freeze: %w", err)
	}
	sigName := report.SignaturePath(name)
	if key == nil {
		if err := atomicfile.WriteBytes(name, buf.Bytes()); err != nil {
			return fmt.Errorf("write freeze: %w", err)
		}
		if err := os.Remove(sigName); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write freeze: remove the old signature file: %w", err)
		}
		return nil
	}
	sig, err := report.SignFile(FreezeSignatureDomain, buf.Bytes(), key)
	if err != nil {
		return fmt.Errorf("write freeze: %w", err)
	}
	if err := atomicfile.WritePair(name, buf.Bytes(), sigName, sig, report.MaxSignatureSize); err != nil {
		return fmt.Errorf("write freeze: %w", err)
	}
	return nil
}

// LoadFreeze reads a freeze file written by WriteFreeze. When a signature
// file is beside it, it must sign the file's exact bytes: by the trusted
// key when one is given, else by the key it embeds (which shows only that
// the two files belong together). A trusted key requires a signature
// file. The freeze is then checked: its version, the roster digest, each
// candidate id and commit SHA, and that no candidate appears twice.
// SignedBy says which key signed it.
func LoadFreeze(name string, trusted ed25519.PublicKey) (*Freeze, error) {
	data, err := atomicfile.ReadBounded(name, MaxFreezeBytes+1)
	if err != nil {
		return nil, fmt.Errorf("read freeze: %w", err)
	}
	if len(data) > MaxFreezeBytes {
		return nil, fmt.Errorf("read freeze %s: larger than %d MiB: not a freeze written by cmcgrader freeze", name, MaxFreezeBytes>>20)
	}
	sig, err := atomicfile.ReadBounded(report.SignaturePath(name), report.MaxSignatureSize+1)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		sig = nil
	case err != nil:
		return nil, fmt.Errorf("read freeze signature: %w", err)
	}
	var signedBy string
	if sig != nil || trusted != nil {
		if signedBy, err = report.VerifyFile(FreezeSignatureDomain, data, sig, trusted); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	f, err := parseFreeze(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f.SignedBy = signedBy
	return f, nil
}

// parseFreeze decodes and checks a freeze file's bytes.
func parseFreeze(data []byte) (*Freeze, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Freeze
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a freeze written by cmcgrader freeze: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a freeze written by cmcgrader freeze: data after the freeze")
	}
	if f.Version != FreezeVersion {
		return nil, fmt.Errorf("version: must be %d (got %d); freeze again with this grader", FreezeVersion, f.Version)
	}
	if d, ok := strings.CutPrefix(f.Roster, "sha256:"); !ok || len(d) != 64 || !isHex(d) {
		return nil, fmt.Errorf("roster: must be sha256: and 64 hex digits (got %q)", f.Roster)
	}
	if f.At.IsZero() {
		return nil, errors.New("at: the time of the freeze is missing")
	}
	seen := map[string]bool{}
	candidate := func(id string) error {
		if err := tasks.CheckCandidate(id); err != nil {
			return err
		}
		if seen[id] {
			return fmt.Errorf("candidate %q is listed twice", id)
		}
		seen[id] = true
		return nil
	}
	for i, c := range f.Commits {
		if err := candidate(c.Candidate); err != nil {
			return nil, fmt.Errorf("commits[%d]: %w", i, err)
		}
		if !gitref.IsCommit(c.Commit) {
			return nil, fmt.Errorf("commits[%d]: commit %q is not a full SHA", i, c.Commit)
		}
	}
	for i, p := range f.Problems {
		if err := candidate(p.Candidate); err != nil {
			return nil, fmt.Errorf("problems[%d]: %w", i, err)
		}
	}
	if f.Commits == nil {
		f.Commits = []FrozenCommit{}
	}
	if f.Problems == nil {
		f.Problems = []FreezeProblem{}
	}
	f.buildIndex()
	return &f, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}
