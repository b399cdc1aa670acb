package hooks

import (
	"context"
	"errors"
	"testing"
)

func TestFunc(t *testing.T) {
	boom := errors.New("boom")
	h := Func(func(ev *Event) error {
		if ev.Name != "x" {
			t.Errorf("event = %q", ev.Name)
		}
		return boom
	})
	if err := h(context.Background(), &Event{Name: "x"}); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
