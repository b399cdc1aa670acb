package root

import (
	"encoding/json"
	"testing"
)

func TestVersionJSON(t *testing.T) {
	var v map[string]string
	if err := json.Unmarshal([]byte(versionJSON()), &v); err != nil {
		t.Fatal(err)
	}
}
