package tasks

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
	"strconv"
)

// Domain strings open each serialization, so that a bank digest can never
// equal a task digest, and a future format can change them.
const (
	bankDigestDomain = "cmcgrader bank digest v1"
	taskDigestDomain = "cmcgrader task digest v1"
)

// digester writes a canonical serialization into a hash. Every field is
// prefixed with its length and every list with its count, so no two
// different inputs serialize to the same bytes.
type digester struct{ h hash.Hash }

func newDigester(domain string) digester {
	d := digester{h: sha256.New()}
	d.bytes([]byte(domain))
	return d
}

func (d digester) count(n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	d.h.Write(b[:])
}

func (d digester) bytes(b []byte) {
	d.count(len(b))
	d.h.Write(b)
}

func (d digester) str(s string) { d.bytes([]byte(s)) }

func (d digester) strs(list []string) {
	d.count(len(list))
	for _, s := range list {
		d.str(s)
	}
}

// hidden writes hidden files sorted by path.
func (d digester) hidden(files []HiddenFile) {
	sorted := make([]HiddenFile, len(files))
	copy(sorted, files)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	d.count(len(sorted))
	for _, f := range sorted {
		d.str(f.Path)
		d.bytes(f.Data)
	}
}

func (d digester) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// loaded is a task with the bytes of its task.yaml, for the bank digest.
type loaded struct {
	task *Task
	spec []byte
}

// bankDigest returns the hex SHA-256 of bank.yaml followed, for each task
// in bank order, by its id, task.yaml, hidden files (path and content,
// sorted by path), reference.patch and statement.md.
func bankDigest(bankYAML []byte, list []loaded) string {
	d := newDigester(bankDigestDomain)
	d.bytes(bankYAML)
	d.count(len(list))
	for _, l := range list {
		d.str(l.task.ID)
		d.bytes(l.spec)
		d.hidden(l.task.Hidden)
		d.bytes(l.task.Reference)
		d.str(l.task.Statement)
	}
	return d.sum()
}

// Digest returns the hex SHA-256 of everything that decides how the task
// is graded and shown: its fields after defaults, its hidden files (sorted
// by path), reference solution and statement. It does not depend on where
// the bank lies (Dir), nor on the comments or layout of task.yaml, so a
// task keeps its digest when only its folder moves.
func (t *Task) Digest() string {
	d := newDigester(taskDigestDomain)
	d.str(t.ID)
	d.str(t.Exam)
	d.str(t.Title)
	d.str(t.Difficulty)
	d.str(strconv.FormatFloat(t.Points, 'g', -1, 64))
	d.str(string(t.Runner))
	d.strs(t.Packages)
	d.strs(t.Tests)
	d.str(string(t.Scoring))
	d.str(strconv.FormatInt(int64(t.Timeout), 10))
	d.hidden(t.Hidden)
	d.strs(t.Restore)
	d.bytes(t.Reference)
	d.str(t.Statement)
	return d.sum()
}
