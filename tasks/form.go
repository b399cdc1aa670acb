package tasks

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FormVersion is the version of the form file's shape (form.json).
const FormVersion = 1

// MaxCandidateBytes bounds the length of a candidate id, in bytes.
const MaxCandidateBytes = 128

// Domain strings of the draw's hashes; changing them changes every form.
const (
	formSeedDomain   = "cmcgrader form seed v1"
	formStreamDomain = "cmcgrader form stream v1"
)

// Difficulties are the task difficulties, in the order a draw considers
// them before the seed reorders them.
var Difficulties = []string{"easy", "medium", "hard"}

// Form is one candidate's exam form: the tasks drawn from a bank for one
// attempt. Its JSON form is the file `cmcgrader grade --form` reads.
type Form struct {
	// Version is FormVersion.
	Version int `json:"version"`
	// Bank and BankDigest name the bank the form was drawn from.
	Bank       string `json:"bank"`
	BankDigest string `json:"bank_digest"`
	// Candidate is the candidate's id, as given to Draw.
	Candidate string `json:"candidate"`
	// Attempt is the attempt number, from 1 to Attempts.
	Attempt int `json:"attempt"`
	// Attempts is the bank's limit of attempts, for information.
	Attempts int `json:"attempts"`
	// Exams holds, in Exams order, each exam that has tasks in the form.
	Exams []FormExam `json:"exams"`
}

// FormExam is the tasks a form holds for one exam.
type FormExam struct {
	// Name is one of Exams.
	Name string `json:"name"`
	// Tasks are task ids, sorted.
	Tasks []string `json:"tasks"`
}

// TaskIDs returns the ids of every task of the form, exam by exam.
func (f *Form) TaskIDs() []string {
	var ids []string
	for _, e := range f.Exams {
		ids = append(ids, e.Tasks...)
	}
	return ids
}

// CheckCandidate reports what is wrong with a candidate id, or nil. An id
// is 1 to MaxCandidateBytes bytes of printable UTF-8 (letters, digits,
// punctuation and spaces), without spaces at either end.
func CheckCandidate(id string) error {
	switch {
	case id == "":
		return errors.New("the candidate id is empty; give the id the candidate was registered with")
	case len(id) > MaxCandidateBytes:
		return fmt.Errorf("the candidate id is %d bytes long; it may be at most %d", len(id), MaxCandidateBytes)
	case !utf8.ValidString(id):
		return fmt.Errorf("the candidate id %q is not valid UTF-8", id)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("the candidate id %q has spaces at an end; remove them", id)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("the candidate id %q holds a character that is not printable (%U); use letters, digits and punctuation", id, r)
		}
	}
	return nil
}

// attempts returns the bank's limit of attempts; the zero Bank allows
// DefaultAttempts.
func (b *Bank) attempts() int {
	if b.Attempts > 0 {
		return b.Attempts
	}
	return DefaultAttempts
}

// Draw draws the exam form of one candidate's attempt. The same bank
// (digest), candidate and attempt always give the same form.
//
// For each exam whose Draw is set (bank.yaml's exams.<name>.tasks), the
// form holds that many of the exam's tasks; otherwise it holds them all.
// The draw is balanced by difficulty, one task at a time: each next task
// comes from the difficulty with the fewest tasks drawn so far among those
// with tasks left, so the counts of two difficulties differ by at most one
// unless one of them has run out, and a difficulty that runs out gives all
// its tasks. Which difficulty wins a tie (who gets the extra task when the
// count does not divide by three) follows an order of the difficulties
// shuffled by the seed, once per exam. Within a difficulty the tasks are
// chosen uniformly, without replacement.
//
// The randomness is SHA-256 in counter mode, keyed by the SHA-256 of the
// bank digest, the candidate and the attempt (each length-prefixed) and
// then by the exam's name: an exam's draw depends on nothing else, and
// the same inputs draw the same form with any Go version.
//
// An attempt outside 1 to the bank's Attempts is an error naming the
// limit; so is a candidate id that CheckCandidate refuses.
func Draw(b *Bank, candidate string, attempt int) (*Form, error) {
	if err := CheckCandidate(candidate); err != nil {
		return nil, err
	}
	if limit := b.attempts(); attempt < 1 || attempt > limit {
		return nil, fmt.Errorf("attempt %d is not allowed: bank %s allows %d attempts, numbered 1 to %d", attempt, b.Name, limit, limit)
	}
	d := newDigester(formSeedDomain)
	d.bytes([]byte(b.Digest))
	d.bytes([]byte(candidate))
	d.count(attempt)
	seed := d.h.Sum(nil)

	f := &Form{
		Version:    FormVersion,
		Bank:       b.Name,
		BankDigest: b.Digest,
		Candidate:  candidate,
		Attempt:    attempt,
		Attempts:   b.attempts(),
	}
	for _, name := range Exams {
		pool := b.TasksFor(name)
		if len(pool) == 0 {
			continue
		}
		n := len(pool)
		if e := b.Exam(name); e.Draw > 0 && e.Draw < n {
			n = e.Draw
		}
		ids := drawExam(newStream(seed, name), pool, n)
		f.Exams = append(f.Exams, FormExam{Name: name, Tasks: ids})
	}
	return f, nil
}

// drawExam picks n of the tasks in pool (n <= len(pool)), balanced by
// difficulty as Draw describes, and returns their ids sorted.
func drawExam(s *stream, pool []*Task, n int) []string {
	byLevel := map[string][]string{}
	for _, t := range pool {
		byLevel[t.Difficulty] = append(byLevel[t.Difficulty], t.ID)
	}
	order := slices.Clone(Difficulties)
	for i := len(order) - 1; i > 0; i-- {
		j := s.intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	count := map[string]int{}
	for range n {
		best := ""
		for _, l := range order {
			if count[l] < len(byLevel[l]) && (best == "" || count[l] < count[best]) {
				best = l
			}
		}
		count[best]++
	}
	var ids []string
	for _, l := range Difficulties {
		// A partial Fisher-Yates shuffle: the first count[l] places.
		ts := slices.Clone(byLevel[l])
		for i := range count[l] {
			j := i + s.intn(len(ts)-i)
			ts[i], ts[j] = ts[j], ts[i]
		}
		ids = append(ids, ts[:count[l]]...)
	}
	slices.Sort(ids)
	return ids
}

// stream is a deterministic source of random numbers: SHA-256 of a key
// and a counter.
type stream struct {
	key []byte
	ctr uint64
}

func newStream(seed []byte, exam string) *stream {
	d := newDigester(formStreamDomain)
	d.bytes(seed)
	d.bytes([]byte(exam))
	return &stream{key: d.h.Sum(nil)}
}

func (s *stream) uint64() uint64 {
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], s.ctr)
	s.ctr++
	sum := sha256.Sum256(append(slices.Clone(s.key), c[:]...))
	return binary.BigEndian.Uint64(sum[:8])
}

// intn returns a uniform number in [0, n), n > 0, by rejecting the few
// values that would bias the remainder.
func (s *stream) intn(n int) int {
	m := uint64(n)
	low := -m % m // 2^64 mod m: values below it are rejected
	for {
		if v := s.uint64(); v >= low {
			return int(v % m)
		}
	}
}

// Check reports whether f is the form drawn from b for its candidate and
// attempt: b must have the digest the form was drawn from, and drawing
// again must give the same tasks (so a form edited by hand is refused).
func (f *Form) Check(b *Bank) error {
	if f.BankDigest != b.Digest {
		return fmt.Errorf("the form was drawn from bank %s with digest %s, but bank %s in %s has digest %s; grade with the bank the form was drawn from, or draw the form again",
			f.Bank, f.BankDigest, b.Name, b.Dir, b.Digest)
	}
	want, err := Draw(b, f.Candidate, f.Attempt)
	if err != nil {
		return fmt.Errorf("the form cannot be drawn from bank %s: %w", b.Name, err)
	}
	if !slices.EqualFunc(want.Exams, f.Exams, func(x, y FormExam) bool {
		return x.Name == y.Name && slices.Equal(x.Tasks, y.Tasks)
	}) {
		return fmt.Errorf("the form's tasks (%s) are not those drawn for candidate %q, attempt %d (%s): the form was edited; draw it again with cmcgrader form",
			strings.Join(f.TaskIDs(), ", "), f.Candidate, f.Attempt, strings.Join(want.TaskIDs(), ", "))
	}
	return nil
}

// Tasks checks that the form was drawn from bank and returns the part of
// bank it grades: its tasks, in bank order.
func (f *Form) Tasks(bank *Bank) (*Bank, error) {
	if err := f.Check(bank); err != nil {
		return nil, err
	}
	return bank.Subset(f.TaskIDs())
}
