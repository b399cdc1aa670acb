package repo

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrPatch means a patch is malformed or does not apply.
var ErrPatch = errors.New("patch does not apply")

// Files is a set of file changes on top of a tree: path -> new content,
// nil meaning the file is deleted.
type Files map[string][]byte

// ApplyPatch applies a unified diff as `git diff` writes it (text files;
// new, changed and deleted files) on top of read, which returns a file of
// the tree (an error wrapping ErrNotExist when it has none), and of
// earlier changes in into. It adds the results to into. Each hunk must
// match its context exactly, at its line or shifted up or down as git
// apply allows. Nothing is added when any part fails.
func ApplyPatch(patch []byte, read func(path string) ([]byte, error), into Files) error {
	fps, err := parsePatch(patch)
	if err != nil {
		return err
	}
	out := Files{}
	get := func(p string) ([]byte, bool, error) {
		if d, ok := out[p]; ok {
			return d, d != nil, nil
		}
		if d, ok := into[p]; ok {
			return d, d != nil, nil
		}
		d, err := read(p)
		if errors.Is(err, ErrNotExist) {
			return nil, false, nil
		}
		return d, err == nil, err
	}
	for _, fp := range fps {
		old, exists, err := get(fp.path())
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrPatch, fp.path(), err)
		}
		switch {
		case fp.oldPath == "" && exists:
			return fmt.Errorf("%w: %s: the patch creates it, but it exists", ErrPatch, fp.newPath)
		case fp.oldPath != "" && !exists:
			return fmt.Errorf("%w: %s: no such file", ErrPatch, fp.oldPath)
		}
		data, err := fp.apply(old)
		if err != nil {
			return err
		}
		if fp.newPath == "" {
			out[fp.oldPath] = nil
		} else {
			out[fp.newPath] = data
		}
	}
	for p, d := range out {
		into[p] = d
	}
	return nil
}

type filePatch struct {
	oldPath, newPath string // "" for /dev/null
	hunks            []hunk
}

func (fp *filePatch) path() string {
	if fp.oldPath != "" {
		return fp.oldPath
	}
	return fp.newPath
}

type hunk struct {
	oldStart int
	lines    []string // each with its ' ', '-' or '+' prefix and its "\n" (none at a missing final newline)
}

func parsePatch(patch []byte) ([]*filePatch, error) {
	var fps []*filePatch
	var cur *filePatch
	var h *hunk
	lines := strings.SplitAfter(string(patch), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case line == "":
		case strings.HasPrefix(line, "diff --git "):
			cur, h = &filePatch{}, nil
			fps = append(fps, cur)
		case strings.HasPrefix(line, "Binary files ") || strings.HasPrefix(line, "GIT binary patch"):
			return nil, fmt.Errorf("%w: binary patches are not supported", ErrPatch)
		case strings.HasPrefix(line, "rename from ") || strings.HasPrefix(line, "copy from "):
			return nil, fmt.Errorf("%w: renames and copies are not supported; make the patch with git diff --no-renames", ErrPatch)
		case h == nil && strings.HasPrefix(line, "--- "):
			if cur == nil {
				cur = &filePatch{}
				fps = append(fps, cur)
			}
			cur.oldPath = patchPath(line[4:], "a/")
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "+++ ") {
				return nil, fmt.Errorf("%w: line %d: --- without +++", ErrPatch, i+1)
			}
			i++
			cur.newPath = patchPath(lines[i][4:], "b/")
			if cur.oldPath == "" && cur.newPath == "" {
				return nil, fmt.Errorf("%w: line %d: no file named", ErrPatch, i)
			}
		case strings.HasPrefix(line, "@@ "):
			if cur == nil || cur.path() == "" {
				return nil, fmt.Errorf("%w: line %d: hunk before a file header", ErrPatch, i+1)
			}
			start, err := hunkStart(line)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrPatch, i+1, err)
			}
			cur.hunks = append(cur.hunks, hunk{oldStart: start})
			h = &cur.hunks[len(cur.hunks)-1]
		case h != nil && (line[0] == ' ' || line[0] == '-' || line[0] == '+'):
			h.lines = append(h.lines, line)
		case h != nil && strings.HasPrefix(line, `\ `):
			// "\ No newline at end of file": the line before has none.
			if n := len(h.lines); n > 0 {
				h.lines[n-1] = strings.TrimSuffix(h.lines[n-1], "\n")
			}
		case h != nil && line == "\n":
			// An empty context line whose leading space was stripped.
			h.lines = append(h.lines, " \n")
		default:
			// Headers (index, mode lines) end the current hunk.
			h = nil
		}
	}
	if len(fps) == 0 {
		return nil, fmt.Errorf("%w: no file changes in the patch", ErrPatch)
	}
	return fps, nil
}

func patchPath(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	if s == "/dev/null" {
		return ""
	}
	return strings.TrimPrefix(s, prefix)
}

// hunkStart parses "@@ -12,5 +12,7 @@" and returns 12.
func hunkStart(line string) (int, error) {
	f := strings.Fields(line)
	if len(f) < 3 || !strings.HasPrefix(f[1], "-") {
		return 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(line))
	}
	n, _, _ := strings.Cut(f[1][1:], ",")
	start, err := strconv.Atoi(n)
	if err != nil {
		return 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(line))
	}
	return start, nil
}

func (fp *filePatch) apply(old []byte) ([]byte, error) {
	src := strings.SplitAfter(string(old), "\n")
	if len(src) > 0 && src[len(src)-1] == "" {
		src = src[:len(src)-1]
	}
	var dst []string
	pos := 0 // next line of src not yet copied
	for n, h := range fp.hunks {
		var want, repl []string
		for _, l := range h.lines {
			body := l[1:]
			if l[0] != '+' {
				want = append(want, body)
			}
			if l[0] != '-' {
				repl = append(repl, body)
			}
		}
		at := max(h.oldStart-1, 0)
		if len(want) == 0 && h.oldStart > 0 {
			at = h.oldStart // pure insertion after line oldStart
		}
		found := -1
		for d := 0; found < 0 && (at-d >= pos || at+d+len(want) <= len(src)); d++ {
			for _, c := range []int{at - d, at + d} {
				if c >= pos && c+len(want) <= len(src) && equalLines(src[c:c+len(want)], want) {
					found = c
					break
				}
			}
		}
		if found < 0 {
			return nil, fmt.Errorf("%w: %s: hunk %d (line %d) does not match the file", ErrPatch, fp.path(), n+1, h.oldStart)
		}
		dst = append(dst, src[pos:found]...)
		dst = append(dst, repl...)
		pos = found + len(want)
	}
	dst = append(dst, src[pos:]...)
	if fp.newPath == "" {
		if len(dst) > 0 {
			return nil, fmt.Errorf("%w: %s: the patch deletes it, but lines are left", ErrPatch, fp.oldPath)
		}
		return nil, nil
	}
	var b bytes.Buffer
	for _, l := range dst {
		b.WriteString(l)
	}
	return b.Bytes(), nil
}

func equalLines(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
