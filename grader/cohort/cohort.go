// Package cohort is the vocabulary of grading many candidates at once: the
// roster of who sits the exam and where their fork is, the freeze that
// fixes each candidate's commit at the deadline, and what the proctor
// learns from a cohort's reports (exports and item analysis).
package cohort

import "time"

// Candidate is one row of a roster.
type Candidate struct {
	// ID names the candidate (tasks.CheckCandidate: printable, at most
	// 128 bytes); unique in a roster.
	ID string `json:"id" yaml:"id"`
	// Repo is the git URL of the candidate's fork.
	Repo string `json:"repo" yaml:"repo"`
	// Branch is the exam branch.
	Branch string `json:"branch" yaml:"branch"`
	// Form, if set, is the candidate's exam form file (cmcgrader form),
	// relative to the roster's folder; Attempt is its attempt number.
	Form    string `json:"form,omitempty" yaml:"form,omitempty"`
	Attempt int    `json:"attempt,omitempty" yaml:"attempt,omitempty"`
	// Name and Email are kept out of exports unless asked for.
	Name  string `json:"name,omitempty" yaml:"name,omitempty"`
	Email string `json:"email,omitempty" yaml:"email,omitempty"`
	// Line is the candidate's line in the roster file (1-based).
	Line int `json:"-" yaml:"-"`
}

// Roster lists a cohort's candidates, in file order.
type Roster struct {
	// Path is the file the roster was read from.
	Path string `json:"path"`
	// Digest is "sha256:" and the hex SHA-256 of the file's bytes.
	Digest     string      `json:"digest"`
	Candidates []Candidate `json:"candidates"`
}

// FreezeVersion is the version of the freeze file's JSON shape.
const FreezeVersion = 1

// Freeze fixes, at the deadline, the commit each candidate's branch
// pointed to: grading a cohort with a freeze grades exactly these
// commits, whatever was pushed later.
type Freeze struct {
	Version int `json:"version"`
	// Roster is the digest of the roster frozen.
	Roster string `json:"roster"`
	// At is when the branches were read.
	At time.Time `json:"at"`
	// Commits are the candidates whose branch was read, in roster order.
	Commits []FrozenCommit `json:"commits"`
	// Problems are the candidates whose branch could not be read: an
	// unreachable repository, a missing branch. They are not graded from
	// this freeze.
	Problems []FreezeProblem `json:"problems"`

	// SignedBy is the fingerprint of the key that signed the file
	// LoadFreeze read (report.KeyFingerprint); empty when unsigned. It is
	// not part of the file.
	SignedBy string `json:"-"`

	index map[string]int // Commits by candidate, see Commit
}

// FrozenCommit is one candidate's commit at the deadline.
type FrozenCommit struct {
	Candidate string `json:"candidate"`
	Repo      string `json:"repo"`
	Branch    string `json:"branch"`
	// Commit is the full SHA the branch pointed to.
	Commit string `json:"commit"`
}

// FreezeProblem is a candidate whose branch could not be read.
type FreezeProblem struct {
	Candidate string `json:"candidate"`
	Repo      string `json:"repo"`
	Branch    string `json:"branch"`
	// Reason says what went wrong, in a sentence.
	Reason string `json:"reason"`
}
