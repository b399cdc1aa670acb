package tamper

// The capability analysis of Rego policies (opa tasks). A policy cannot
// touch opa's output or exit status, but it can reach the hidden tests
// themselves: declare rules in their package (a default value for a test
// rule passes it), read them through data, or ask opa about the run. It
// can also answer from outside the policy: the network, the runtime's
// environment, a clock or a random source. Rego has no way to call a
// function or reach a document by a name computed at run time other than
// a computed data reference, so a walk over the file's tokens sees every
// builtin it calls and every document it names.

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// regoCalls are the builtins a policy under test has no business calling,
// with the kind and phrase of the capability.
var regoCalls = map[string]struct {
	kind   report.TamperKind
	detail string
}{
	"http.send":           {report.CapExec, "calls http.send (the network)"},
	"net.lookup_ip_addr":  {report.CapExec, "calls net.lookup_ip_addr (the network)"},
	"opa.runtime":         {report.CapFramework, "calls opa.runtime (the run's environment and configuration)"},
	"rego.metadata.chain": {report.CapFramework, "calls rego.metadata.chain (the rules being evaluated)"},
	"rego.metadata.rule":  {report.CapFramework, "calls rego.metadata.rule (the rule being evaluated)"},
	"time.now_ns":         {report.CapUnsafe, "calls time.now_ns (an answer that changes between runs)"},
	"rand.intn":           {report.CapUnsafe, "calls rand.intn (an answer that changes between runs)"},
	"uuid.rfc4122":        {report.CapUnsafe, "calls uuid.rfc4122 (an answer that changes between runs)"},
}

// regoTests is what the analysis knows of a bank's hidden Rego tests.
type regoTests struct {
	// pkgs are the packages hidden test files declare, as dotted paths
	// below data ("meshery.relationships_test").
	pkgs map[string]bool
	// shared are those of pkgs that a policy file of the base declares
	// too: a candidate's policy there is expected.
	shared map[string]bool
}

// regoTestsOf reads the packages of the bank's hidden Rego files, and
// which of them the base's policies (below the opa tasks' packages)
// share.
func regoTestsOf(base *repo.Snapshot, bank *tasks.Bank) regoTests {
	rt := regoTests{pkgs: map[string]bool{}, shared: map[string]bool{}}
	if bank == nil {
		return rt
	}
	hidden := map[string]bool{}
	for _, t := range bank.Tasks {
		if t.Runner != tasks.RunnerOPA {
			continue
		}
		for _, h := range t.Hidden {
			hidden[h.Path] = true
			if p := regoPackage(regoLex(h.Data)); p != "" {
				rt.pkgs[p] = true
			}
		}
	}
	if len(rt.pkgs) == 0 || base == nil {
		return rt
	}
	for _, t := range bank.Tasks {
		if t.Runner != tasks.RunnerOPA {
			continue
		}
		for f := range regoFilesOf(base, t) {
			if hidden[f] {
				continue
			}
			data, err := base.ReadFile(f)
			if err != nil || len(data) > ParseBytes {
				continue
			}
			if p := regoPackage(regoLex(data)); rt.pkgs[p] {
				rt.shared[p] = true
			}
		}
	}
	return rt
}

// regoFilesOf are the .rego files opa loads for task t from tree s: the
// files its packages name, and those below the folders they name.
func regoFilesOf(s *repo.Snapshot, t *tasks.Task) map[string]bool {
	out := map[string]bool{}
	for _, p := range t.Packages {
		p = strings.TrimPrefix(path.Clean(p), "./")
		if strings.HasSuffix(p, ".rego") {
			out[p] = true
			continue
		}
		walkFiles(s, p, func(f string) {
			if strings.HasSuffix(f, ".rego") {
				out[f] = true
			}
		})
	}
	return out
}

// regoCapabilities returns the capabilities of Rego file name that its
// base version does not have.
func regoCapabilities(name string, cand, base []byte, rt regoTests) ([]Capability, error) {
	toks := regoLex(cand)
	if n := len(toks); n > 0 && toks[n-1].kind == regoBad {
		return nil, fmt.Errorf("line %d: %s", toks[n-1].line, toks[n-1].text)
	}
	caps := regoScan(toks, rt)
	var old []Capability
	if base != nil {
		old = regoScan(regoLex(base), rt)
	}
	return jsNew(caps, old, cand, base), nil
}

// regoScan finds the capabilities in a file's tokens.
func regoScan(toks []regoTok, rt regoTests) []Capability {
	var out []Capability
	add := func(k report.TamperKind, line int, format string, args ...any) {
		out = append(out, Capability{Kind: k, Line: line, Detail: fmt.Sprintf(format, args...)})
	}
	if pkg := regoPackage(toks); rt.pkgs[pkg] && !rt.shared[pkg] {
		add(report.CapFramework, toks[0].line, "declares package %s, where hidden tests are (its rules change what they evaluate)", pkg)
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != regoIdent {
			continue
		}
		if t.text == "default" && i+1 < len(toks) && toks[i+1].kind == regoIdent && strings.HasPrefix(toks[i+1].text, "test_") {
			add(report.CapFramework, t.line, "gives test rule %s a default value", toks[i+1].text)
			continue
		}
		if i > 0 && toks[i-1].text == "." {
			continue // inside a reference already read
		}
		segs, next := regoRef(toks, i)
		name := strings.Join(segs, ".")
		if next < len(toks) && toks[next].text == "(" {
			if c, ok := regoCalls[name]; ok {
				add(c.kind, t.line, "%s", c.detail)
			}
		}
		if segs[0] == "data" {
			regoDataRef(segs[1:], toks, next, rt, func(d string) { add(report.CapFramework, t.line, "%s", d) })
		}
		i = next - 1
	}
	return out
}

// regoDataRef judges a reference below data (segs after "data"), which
// ends at toks[next].
func regoDataRef(segs []string, toks []regoTok, next int, rt regoTests, add func(string)) {
	computed := next < len(toks) && toks[next].text == "["
	if len(segs) == 0 {
		if computed {
			add("reads data by a computed path (the hidden tests are in data)")
		} else {
			add("reads data as a whole (the hidden tests are in data)")
		}
		return
	}
	for _, s := range segs {
		if strings.HasPrefix(s, "test_") {
			add("refers to test rule data." + strings.Join(segs, "."))
			return
		}
	}
	ref := strings.Join(segs, ".")
	for _, pkg := range slices.Sorted(maps.Keys(rt.pkgs)) {
		if pkg == ref || strings.HasPrefix(pkg, ref+".") {
			add(fmt.Sprintf("reads data.%s, which holds the hidden tests of package %s", ref, pkg))
			return
		}
	}
}

// regoRef reads the dotted reference starting at toks[i] (an
// identifier), and returns its parts and the index of the token after it.
func regoRef(toks []regoTok, i int) (segs []string, next int) {
	segs = []string{toks[i].text}
	j := i + 1
	for j+1 < len(toks) && toks[j].text == "." && toks[j+1].kind == regoIdent {
		segs = append(segs, toks[j+1].text)
		j += 2
	}
	return segs, j
}

// regoPackage returns the package a file's tokens declare ("" for none).
func regoPackage(toks []regoTok) string {
	for i, t := range toks {
		if t.kind == regoIdent && t.text == "package" && i+1 < len(toks) && toks[i+1].kind == regoIdent {
			segs, _ := regoRef(toks, i+1)
			return strings.TrimPrefix(strings.Join(segs, "."), "data.")
		}
	}
	return ""
}

// Kinds of Rego token.
const (
	regoIdent  = 'i' // a name: a keyword, variable, rule, builtin or root
	regoString = 's' // a string, quoted or raw
	regoNumber = 'n'
	regoPunct  = 'p' // one character of punctuation or an operator
	regoBad    = 'x' // the input cannot be read further; text says why
)

// regoTok is one token of a Rego file.
type regoTok struct {
	kind byte
	text string
	line int
}

// regoLex splits Rego source into tokens, without comments. Input it
// cannot read (an unterminated string) ends the list with a regoBad
// token.
func regoLex(src []byte) []regoTok {
	var out []regoTok
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"':
			start, j := line, i+1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != '"' {
				return append(out, regoTok{regoBad, "unterminated string", start})
			}
			out = append(out, regoTok{regoString, string(src[i+1 : j]), start})
			i = j + 1
		case c == '`':
			start, j := line, i+1
			for j < len(src) && src[j] != '`' {
				if src[j] == '\n' {
					line++
				}
				j++
			}
			if j >= len(src) {
				return append(out, regoTok{regoBad, "unterminated raw string", start})
			}
			out = append(out, regoTok{regoString, string(src[i+1 : j]), start})
			i = j + 1
		case regoIdentStart(c):
			j := i + 1
			for j < len(src) && (regoIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			out = append(out, regoTok{regoIdent, string(src[i:j]), line})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' && j+1 < len(src) && src[j+1] >= '0' && src[j+1] <= '9' || src[j] == 'e' || src[j] == 'E') {
				j++
			}
			out = append(out, regoTok{regoNumber, string(src[i:j]), line})
			i = j
		default:
			out = append(out, regoTok{regoPunct, string(c), line})
			i++
		}
	}
	return out
}

func regoIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
