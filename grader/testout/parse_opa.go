package testout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

// opaResult is one test case as `opa test --format=json` writes it.
type opaResult struct {
	Location *struct {
		File string `json:"file"`
	} `json:"location"`
	Package  string          `json:"package"`
	Name     string          `json:"name"`
	Fail     bool            `json:"fail"`
	Skip     bool            `json:"skip"`
	Error    json.RawMessage `json:"error"`
	Duration int64           `json:"duration"`
	// Output is what the test printed (print()), base64 in the JSON.
	Output []byte `json:"output"`
}

// ParseOPA reads what `opa test --format=json` writes on stdout: one JSON
// array of test cases, each with its Rego package, rule name, location,
// duration and fail, skip or error. A test is named by its full path,
// package then rule ("data.models.policy_test.test_allow"; OPA appends
// "#01"... to repeated names); File is its location's file. A test with an
// error fails, the error first in its output; what it printed follows.
//
// Empty input (opa stopped before running tests: a parse or compile
// error, reported on stderr) yields no tests and Incomplete. Input that is
// not one JSON array of test cases is an error.
func ParseOPA(stdout []byte) (*Results, error) {
	res := &Results{}
	data := bytes.TrimSpace(stdout)
	if len(data) == 0 {
		res.Incomplete = true
		return res, nil
	}
	var cases []opaResult
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&cases); err != nil {
		return nil, fmt.Errorf("read opa test output: %w", err)
	}
	if d.More() {
		return nil, fmt.Errorf("read opa test output: more than one JSON value")
	}
	for _, c := range cases {
		t := Test{
			Package: c.Package,
			Name:    c.Package + "." + c.Name,
			Status:  Pass,
			Elapsed: time.Duration(c.Duration),
		}
		if c.Location != nil {
			t.File = c.Location.File
		}
		failed := c.Fail || (len(c.Error) > 0 && !bytes.Equal(c.Error, []byte("null")))
		switch {
		case failed:
			t.Status = Fail
			out := capture.New(MaxTestOutput)
			if len(c.Error) > 0 && !bytes.Equal(c.Error, []byte("null")) {
				out.WriteString(opaError(c.Error) + "\n")
			}
			out.Write(c.Output)
			t.Output = strings.ToValidUTF8(out.String(), "\uFFFD")
		case c.Skip:
			t.Status = Skip
		}
		res.Tests = append(res.Tests, t)
	}
	return res, nil
}

// opaError is the message of a test's error: its "message" field when it
// is an object with one, else the JSON itself.
func opaError(raw json.RawMessage) string {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Message != "" {
		if e.Code != "" {
			return e.Code + ": " + e.Message
		}
		return e.Message
	}
	return string(raw)
}
