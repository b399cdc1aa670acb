package cohort

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Bounds of a roster file.
const (
	// MaxRosterBytes bounds the size of a roster file.
	MaxRosterBytes = 16 << 20
	// MaxRosterRows bounds the number of candidates of a roster.
	MaxRosterRows = 100_000
	// maxNameBytes bounds a candidate's name and email.
	maxNameBytes = 256
	// maxListed bounds the problems a RosterError's text lists.
	maxListed = 1000
)

// Columns are the columns of a CSV roster and the keys of a YAML one.
// id, repo and branch are required.
var Columns = []string{"id", "repo", "branch", "form", "attempt", "name", "email"}

var required = []string{"id", "repo", "branch"}

// ErrInvalidRoster is matched by errors.Is for every error LoadRoster
// returns about a bad roster (as opposed to a file it cannot read).
var ErrInvalidRoster = errors.New("invalid roster")

// RosterProblem is one thing wrong with a roster.
type RosterProblem struct {
	// File is the roster file's base name.
	File string
	// Line is the line at fault (1-based); 0 when the problem is the
	// file itself.
	Line int
	// Field is the column at fault; empty when the problem is a whole
	// row, the header or the file.
	Field string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error returns "file:line: field: msg", without the parts that are
// unset.
func (p RosterProblem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	if p.Field != "" {
		b.WriteString(": " + p.Field)
	}
	return b.String() + ": " + p.Msg
}

// RosterError is the error LoadRoster returns for a bad roster: every
// problem found, by line, so that all can be fixed at once. It matches
// ErrInvalidRoster and, through errors.As, each RosterProblem.
type RosterError struct {
	// Path is the roster file as given to LoadRoster.
	Path string
	// Problems holds at least one problem, sorted by line.
	Problems []RosterProblem
}

// Error returns a summary line and one line per problem (at most 1,000;
// the rest are counted).
func (e *RosterError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	fmt.Fprintf(&b, "invalid roster %s: %d problem", e.Path, n)
	if n != 1 {
		b.WriteString("s")
	}
	for i, p := range e.Problems {
		if i == maxListed {
			fmt.Fprintf(&b, "\n... and %d more", n-maxListed)
			break
		}
		b.WriteString("\n" + p.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalidRoster followed by each problem.
func (e *RosterError) Unwrap() []error {
	errs := []error{ErrInvalidRoster}
	for _, p := range e.Problems {
		errs = append(errs, p)
	}
	return errs
}

// problems collects what is wrong with a roster while it loads.
type problems struct {
	file string
	list []RosterProblem
}

func (ps *problems) add(line int, field, format string, args ...any) {
	ps.list = append(ps.list, RosterProblem{File: ps.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// row is one roster row as written, before it is checked.
type row struct {
	line   int               // where the row starts
	values map[string]string // by column
	lines  map[string]int    // where each value is
	// failed holds the fields whose value was reported as unreadable
	// (and left empty): they are not reported again as empty.
	failed map[string]bool
}

func (r row) lineOf(field string) int {
	if l, ok := r.lines[field]; ok {
		return l
	}
	return r.line
}

// LoadRoster reads and checks a roster file: CSV (.csv) with a header row
// naming its columns, or YAML (.yaml, .yml) with a list of candidates
// under the key candidates. See Columns; README.md has examples. Every
// row is checked: the id (tasks.CheckCandidate, unique), the repository
// URL (repo.CheckURL; a local path must be absolute), the branch, the
// form file (relative to the roster's folder; it must be that
// candidate's form, of that attempt) and the email. A bad roster gives a
// *RosterError listing every problem, and no roster.
func LoadRoster(path string) (*Roster, error) {
	parse, err := rosterFormat(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRosterBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read roster %s: %w", path, err)
	}
	probs := &problems{file: filepath.Base(path)}
	var cands []Candidate
	if len(data) > MaxRosterBytes {
		probs.add(0, "", "is larger than %d MiB; split the cohort into several rosters", MaxRosterBytes>>20)
	} else {
		cands = check(parse(data, probs), filepath.Dir(path), probs)
	}
	if len(probs.list) > 0 {
		sort.SliceStable(probs.list, func(i, j int) bool { return probs.list[i].Line < probs.list[j].Line })
		return nil, &RosterError{Path: path, Problems: probs.list}
	}
	sum := sha256.Sum256(data)
	return &Roster{Path: path, Digest: "sha256:" + hex.EncodeToString(sum[:]), Candidates: cands}, nil
}

// rosterFormat returns the parser for the file's extension.
func rosterFormat(path string) (func([]byte, *problems) []row, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return parseCSV, nil
	case ".yaml", ".yml":
		return parseYAML, nil
	}
	return nil, fmt.Errorf("%w %s: the file name must end in .csv (a CSV file with a header row) or .yaml/.yml (a YAML list of candidates)", ErrInvalidRoster, path)
}

// parseCSV reads a CSV roster (RFC 4180, an optional UTF-8 byte order
// mark): a header row naming the columns, in any order and any case, then
// one row per candidate.
func parseCSV(data []byte, probs *problems) []row {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	header, err := r.Read()
	var perr *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		probs.add(0, "", "is empty; the first row names the columns (%s), then one row per candidate", strings.Join(Columns, ","))
		return nil
	case errors.As(err, &perr):
		probs.add(perr.StartLine, "", "is not valid CSV: %v (line %d, column %d)", perr.Err, perr.Line, perr.Column)
		return nil
	case err != nil:
		probs.add(0, "", "is not valid CSV: %v", err)
		return nil
	}
	headerLine, _ := r.FieldPos(0)
	cols, ok := csvHeader(header, headerLine, probs)
	if !ok {
		return nil
	}
	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if errors.As(err, &perr) {
			if errors.Is(perr.Err, csv.ErrFieldCount) {
				line, _ := r.FieldPos(0)
				probs.add(line, "", "has %d fields, but the header names %d columns", len(rec), len(cols))
			} else {
				// The reader goes on at the next line.
				probs.add(perr.StartLine, "", "is not valid CSV: %v (line %d, column %d)", perr.Err, perr.Line, perr.Column)
			}
			continue
		}
		if err != nil {
			probs.add(0, "", "is not valid CSV: %v", err)
			return nil
		}
		if len(rows) == MaxRosterRows {
			probs.add(0, "", "has more than %d candidates; split the cohort into several rosters", MaxRosterRows)
			return nil
		}
		rw := row{values: make(map[string]string, len(cols)), lines: make(map[string]int, len(cols))}
		rw.line, _ = r.FieldPos(0)
		for i, v := range rec {
			rw.values[cols[i]] = v
			rw.lines[cols[i]], _ = r.FieldPos(i)
		}
		rows = append(rows, rw)
	}
}

// csvHeader returns the column of each field of the header row, or false
// after reporting what is wrong with it.
func csvHeader(header []string, line int, probs *problems) ([]string, bool) {
	n := len(probs.list)
	cols := make([]string, len(header))
	seen := map[string]int{}
	known := 0
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		cols[i] = name
		switch {
		case !isColumn(name):
			probs.add(line, "", "unknown column %q; the columns are %s", h, strings.Join(Columns, ", "))
		case seen[name] > 0:
			probs.add(line, "", "column %s is named twice (columns %d and %d); keep one", name, seen[name], i+1)
		default:
			known++
		}
		seen[name] = i + 1
	}
	if known == 0 {
		probs.list = probs.list[:n]
		probs.add(line, "", "the first row must name the columns (%s), not be a candidate", strings.Join(Columns, ","))
		return nil, false
	}
	for _, c := range required {
		if seen[c] == 0 {
			probs.add(line, "", "no %s column; a roster needs %s", c, strings.Join(required, ", "))
		}
	}
	return cols, len(probs.list) == n
}

func isColumn(name string) bool {
	for _, c := range Columns {
		if c == name {
			return true
		}
	}
	return false
}

// check checks every row and returns the candidates; dir is the roster's
// folder, which form paths are relative to.
func check(rows []row, dir string, probs *problems) []Candidate {
	if len(rows) == 0 && len(probs.list) == 0 {
		probs.add(0, "", "lists no candidates")
	}
	cands := make([]Candidate, 0, len(rows))
	ids := map[string]int{}
	for _, r := range rows {
		v := r.values
		c := Candidate{ID: v["id"], Repo: v["repo"], Branch: v["branch"], Form: v["form"], Name: v["name"], Email: v["email"], Line: r.line}
		bad := func(field, format string, args ...any) {
			if !r.failed[field] {
				probs.add(r.lineOf(field), field, format, args...)
			}
		}
		idOK := false
		if err := tasks.CheckCandidate(c.ID); err != nil {
			bad("id", "%v", err)
		} else if first, dup := ids[c.ID]; dup {
			bad("id", "%q is also on line %d; ids must be unique", c.ID, first)
		} else {
			ids[c.ID] = c.Line
			idOK = true
		}
		if msg := checkRepo(c.Repo); msg != "" {
			bad("repo", "%s", msg)
		}
		switch {
		case c.Branch == "":
			bad("branch", "is empty; give the branch the candidate pushes to")
		case !gitref.IsBranch(c.Branch):
			bad("branch", "%q is not a valid short branch name (like main or cmc-answers)", c.Branch)
		}
		attemptOK := false
		if a := v["attempt"]; a != "" {
			n, err := strconv.Atoi(a)
			if err != nil || n < 1 {
				bad("attempt", "must be a whole number from 1, got %q", a)
			} else {
				c.Attempt, attemptOK = n, true
			}
		}
		switch {
		case c.Form != "" && v["attempt"] == "":
			bad("attempt", "is empty, but a form is given; give the form's attempt number")
		case c.Form == "" && v["attempt"] != "":
			bad("form", "is empty, but an attempt is given; give the candidate's form file (cmcgrader form), or neither")
		case c.Form != "":
			if msg := checkForm(dir, c, idOK, attemptOK); msg != "" {
				bad("form", "%s", msg)
			}
		}
		if msg := checkText(c.Name); msg != "" {
			bad("name", "%s", msg)
		}
		if msg := checkEmail(c.Email); msg != "" {
			bad("email", "%s", msg)
		}
		cands = append(cands, c)
	}
	return cands
}

// checkRepo says what is wrong with a repository URL, or "".
func checkRepo(u string) string {
	if u == "" {
		return "is empty; give the URL of the candidate's fork (https://...)"
	}
	if err := repo.CheckURL(u); err != nil {
		return err.Error()
	}
	if !strings.Contains(u, "://") && !filepath.IsAbs(u) {
		return fmt.Sprintf("%q is a relative path; give a URL (https://, file:///...) or an absolute path", u)
	}
	return ""
}

// checkForm says what is wrong with a candidate's form file, or "". The
// form's candidate and attempt are compared with the row's only when
// those are valid (else they are reported already).
func checkForm(dir string, c Candidate, idOK, attemptOK bool) string {
	name := c.Form
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, filepath.FromSlash(name))
	}
	f, err := os.Open(name)
	var perr *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist (a relative path is relative to the roster's folder)", c.Form)
	case errors.As(err, &perr):
		return fmt.Sprintf("%s: %v", c.Form, perr.Err)
	case err != nil:
		return fmt.Sprintf("%s: %v", c.Form, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Sprintf("%s is a folder; give the form.json file in it", c.Form)
	}
	form, err := tasks.ReadForm(f)
	switch {
	case err != nil:
		return fmt.Sprintf("%s: %v", c.Form, err)
	case idOK && form.Candidate != c.ID:
		return fmt.Sprintf("%s is the form of candidate %q, not %q", c.Form, form.Candidate, c.ID)
	case attemptOK && form.Attempt != c.Attempt:
		return fmt.Sprintf("%s is the form of attempt %d, not %d", c.Form, form.Attempt, c.Attempt)
	}
	return ""
}

// checkText says what is wrong with a name, or "".
func checkText(s string) string {
	switch {
	case len(s) > maxNameBytes:
		return fmt.Sprintf("is %d bytes long; it may be at most %d", len(s), maxNameBytes)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "holds a control character (a line break, a tab...); write it on one line"
	}
	return ""
}

// checkEmail says what is wrong with an email address, or "". It checks
// the shape only: a local part, an @ and a domain, without spaces.
func checkEmail(s string) string {
	if s == "" {
		return ""
	}
	if msg := checkText(s); msg != "" {
		return msg
	}
	at := strings.LastIndexByte(s, '@')
	switch {
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return fmt.Sprintf("%q holds a space", s)
	case at <= 0 || at == len(s)-1:
		return fmt.Sprintf("%q is not an email address (name@example.com)", s)
	}
	return ""
}

// FormPath returns the file to read c's form from: c.Form, relative to
// the roster's folder unless absolute; "" when c has no form.
func (r *Roster) FormPath(c Candidate) string {
	if c.Form == "" || filepath.IsAbs(c.Form) {
		return c.Form
	}
	return filepath.Join(filepath.Dir(r.Path), filepath.FromSlash(c.Form))
}

// WriteText lists the roster: a summary line, then per candidate the id,
// branch, repository and form (names and emails are left out).
func (r *Roster) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "roster %s: %d candidates, digest %s\n", escape.Line(r.Path), len(r.Candidates), r.Digest)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tID\tBRANCH\tREPO\tFORM")
	for _, c := range r.Candidates {
		form := "-"
		if c.Form != "" {
			form = fmt.Sprintf("%s (attempt %d)", escape.Line(c.Form), c.Attempt)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.Line, escape.Line(c.ID), escape.Line(c.Branch), escape.Line(c.Repo), form)
	}
	tw.Flush()
	return bw.Flush()
}
