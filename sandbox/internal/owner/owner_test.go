package owner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Owner
		wantErr bool
	}{
		{in: "host/123/456", want: Owner{Host: "host", PID: 123, Start: 456}},
		{in: "ci-runner.example.com/1/0", want: Owner{Host: "ci-runner.example.com", PID: 1, Start: 0}},
		{in: "", wantErr: true},
		{in: "host/123", wantErr: true},
		{in: "/123/456", wantErr: true},
		{in: "host/0/456", wantErr: true},
		{in: "host/-5/456", wantErr: true},
		{in: "host/abc/456", wantErr: true},
		{in: "host/123/x", wantErr: true},
		{in: "host/123/-1", wantErr: true},
		{in: "a/b/123/456", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, errOwner) {
					t.Errorf("error %v does not wrap errOwner", err)
				}
				return
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	fields := func(comm string) string {
		// pid (comm) state ppid ... with starttime (field 22) = 98765.
		s := "42 (" + comm + ") S"
		for i := 4; i <= 21; i++ {
			s += fmt.Sprintf(" %d", i)
		}
		return s + " 98765 1000 2000\n"
	}
	tests := []struct {
		name    string
		in      string
		want    uint64
		wantErr bool
	}{
		{name: "plain", in: fields("cmcgrader"), want: 98765},
		{name: "spaces and parens", in: fields("a) b (c d)) "), want: 98765},
		{name: "no parens", in: "42 cmd S 1 2", wantErr: true},
		{name: "short", in: "42 (cmd) S 1 2 3", wantErr: true},
		{name: "not a number", in: "42 (x) S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 abc", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStat = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLiveness(t *testing.T) {
	procs := map[int]uint64{100: 5000}
	started := func(pid int) (uint64, error) {
		if pid == 666 {
			return 0, fs.ErrPermission
		}
		s, ok := procs[pid]
		if !ok {
			return 0, fmt.Errorf("open /proc/%d/stat: %w", pid, fs.ErrNotExist)
		}
		return s, nil
	}
	tests := []struct {
		label string
		want  State
	}{
		{label: "here/100/5000", want: Alive},
		{label: "here/100/4999", want: Dead}, // PID reused
		{label: "here/200/5000", want: Dead}, // process gone
		{label: "here/666/1", want: Alive},   // cannot tell: keep
		{label: "there/200/5000", want: Foreign},
		{label: "", want: Invalid},
		{label: "garbage", want: Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			if got := Liveness(tt.label, "here", started); got != tt.want {
				t.Errorf("Liveness(%q) = %d, want %d", tt.label, got, tt.want)
			}
		})
	}
}

func TestSelfOwner(t *testing.T) {
	s, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	o, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if o.PID != os.Getpid() || o.Host != Hostname() {
		t.Errorf("Self() = %q, want this process on %s", s, Hostname())
	}
	if got := Liveness(s, Hostname(), ProcessStart); got != Alive {
		t.Errorf("Liveness(self) = %d, want alive", got)
	}
}
