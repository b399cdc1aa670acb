package system

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

type fakeSource struct {
	comps []Component
	err   error
}

func (f fakeSource) Status(context.Context) ([]Component, error) { return f.comps, f.err }

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		src     fakeSource
		want    string
		wantErr bool
	}{
		{name: "reachable", src: fakeSource{comps: []Component{{Name: "meshery-server"}}}, want: "Meshery is reachable (1 components)\n"},
		{name: "down", src: fakeSource{err: errors.New("connection refused")}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := NewSystemCmd(tc.src)
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs([]string{"check"})
			err := cmd.Execute()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && out.String() != tc.want {
				t.Errorf("output = %q, want %q", out.String(), tc.want)
			}
			if tc.wantErr && !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("error %q does not carry the cause", err)
			}
		})
	}
}
