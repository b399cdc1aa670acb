package utils

import (
	"bytes"
	"testing"
)

func TestPrintTable(t *testing.T) {
	var out bytes.Buffer
	err := PrintTable(&out, []string{"NAME", "STATUS"}, [][]string{{"meshery-server", "running"}, {"broker", "stopped"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME            STATUS\n" +
		"meshery-server  running\n" +
		"broker          stopped\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
