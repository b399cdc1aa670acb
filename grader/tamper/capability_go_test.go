package tamper

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestGoCapabilities(t *testing.T) {
	imp := newStdImporter("")
	imp.prepare(context.Background(), []string{"os", "fmt", "flag", "reflect", "testing", "runtime", "errors", "regexp", "time", "syscall", "os/exec"})
	const head = "package p\n\n"
	tests := []struct {
		name string
		src  string // the candidate's p/x.go (p/x_test.go when it starts with "//test")
		base string // the base's, "" for a new file
		want []string
	}{
		{"plain code", `import "fmt"
func F() { fmt.Println("hi") }
var ErrX = fmt.Errorf("x")`, "", nil},
		{"init function", "func init() {}\n", "", []string{"3 init-code init function"}},
		{"an init the base had", "func init() {}\n", "func init() {}\n", nil},
		{"a second init", "func init() {}\nfunc init() {}\n", "func init() {}\n", []string{"3 init-code init function"}},
		{"package var initialised by a call", `func rewire() int { return 1 }
var _ = rewire()`, "", []string{"4 init-code package-level variable _ initialised by a call to rewire"}},
		{"pure std initialisers and conversions", `import ("errors"; "regexp"; "time")
var (
	e = errors.New("x")
	r = regexp.MustCompile("a+")
	d = time.Duration(5)
	b = []byte("x")
	n = len("abc")
	f = func() int { return g() }
)
func g() int { return 1 }`, "", nil},
		{"stdout reassigned", `import "os"
func F(w *os.File) { os.Stdout = w }`, "", []string{"4 stdio writes os.Stdout itself"}},
		{"stdout through a renamed import", `import sys "os"
func F(w *sys.File) { *sys.Stderr = *w }`, "", []string{"4 stdio writes os.Stderr itself"}},
		{"a local named os is not the package", `type T struct{ Stdout int }
func F() { os := T{}; os.Stdout = 1; _ = os }`, "", nil},
		{"stdout closed", `import "os"
func F() { os.Stdout.Close() }`, "", []string{"4 stdio calls os.Stdout.Close"}},
		{"writing to stdout is printing", `import ("fmt"; "os")
func F() { fmt.Fprintln(os.Stdout, "x"); os.Stdout.WriteString("y") }`, "", nil},
		{"new file from a descriptor", `import "os"
var out = os.NewFile(1, "out")`, "", []string{"4 stdio calls os.NewFile", "4 init-code package-level variable out initialised by a call to os.NewFile"}},
		{"proc path", `import "os"
func F() { os.ReadFile("/proc/self/mem") }`, "", []string{"4 stdio names /proc in a string"}},
		{"proc path joined from constants", `const a, b = "/pr", "oc/"
var p = a + b + "1/fd/1"`, "", []string{"4 stdio names /proc in a string"}},
		{"exit", `import "os"
func F() { os.Exit(0) }`, "", []string{"4 exit calls os.Exit"}},
		{"dot import", `import . "os"
func F() { Exit(0) }`, "", []string{"4 exit calls os.Exit"}},
		{"streams through a dot import", `import . "os"
func F(w *File) { Stdout = w; *Stderr = *w; Stdin.Close(); NewFile(1, "x"); Args[0] = "y" }`, "", []string{
			"4 stdio writes os.Stdout itself", "4 stdio writes os.Stderr itself", "4 stdio calls os.Stdin.Close",
			"4 stdio calls os.NewFile", "4 test-framework writes os.Args"}},
		{"a dot import's harmless names", `import . "os"
func F() ([]byte, error) { Stdout.WriteString("x"); return ReadFile(Args[0]) }`, "", nil},
		{"a local name that shadows a dot import", `import . "os"
func F() { Exit := func(int) {}; Exit(0); var Stdout int; Stdout = 1; _ = Stdout; _ = Getpid }`, "", nil},
		{"a package var initialised through a dot import", `import . "errors"
var e = New("x")`, "", nil},
		{"syscall, unsafe, exec, linkname", `import (
	"os/exec"
	"syscall"
	_ "unsafe"
)
//go:linkname x runtime.x
var x int
func F() { syscall.Getpid(); exec.Command("true") }`, "", []string{"4 exec imports os/exec", "5 unsafe-code imports syscall", "6 unsafe-code imports unsafe", "8 unsafe-code go:linkname directive"}},
		{"cgi runs programs", `import "net/http/cgi"
var h = cgi.Handler{Path: "/bin/sh"}`, "", []string{"3 exec imports net/http/cgi (runs programs)"}},
		{"flags and os.Args", `import ("flag"; "os")
func F() { flag.Set("test.run", "x"); os.Args[1] = "y"; os.Args = nil }`, "", []string{"4 test-framework calls flag.Set", "4 test-framework writes os.Args", "4 test-framework writes os.Args"}},
		{"testing outside a test file", `import "testing"
var _ = testing.Short`, "", []string{"3 test-framework imports testing outside a test file"}},
		{"reflection in a test file", "//test\n" + `import ("reflect"; "testing")
func TestMain(m *testing.M) { reflect.ValueOf(m) }`, "", []string{"4 test-framework TestMain function", "4 test-framework uses reflect in a file that uses the testing package"}},
		{"a test run of its own", "//test\n" + `import "testing"
func TestA(t *testing.T) { testing.Main(nil, nil, nil, nil) }`, "", []string{"4 test-framework calls testing.Main"}},
		{"does not parse", "func {", "", []string{"3 unsafe-code file does not parse, so it was not analysed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "p/x.go"
			src := tt.src
			if rest, ok := strings.CutPrefix(src, "//test\n"); ok {
				name, src = "p/x_test.go", rest
			}
			cand := []goFile{{name: name, src: []byte(head + src)}}
			var base []goFile
			if tt.base != "" {
				base = []goFile{{name: name, src: []byte(head + tt.base)}}
			}
			var got []string
			for _, c := range goCapabilities(imp, []string{name}, cand, base)[name] {
				got = append(got, fmt.Sprintf("%d %s %s", c.Line, c.Kind, c.Detail))
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("capabilities:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestGoCapabilitiesMovedCode(t *testing.T) {
	imp := newStdImporter("")
	base := []goFile{{name: "p/a.go", src: []byte("package p\n\nfunc init() {}\n")}, {name: "p/b.go", src: []byte("package p\n")}}
	cand := []goFile{{name: "p/a.go", src: []byte("package p\n")}, {name: "p/b.go", src: []byte("package p\n\nfunc init() {}\n")}}
	if got := goCapabilities(imp, []string{"p/a.go", "p/b.go"}, cand, base); len(got) != 0 {
		t.Errorf("an init moved between files of a package was flagged: %v", got)
	}
}
