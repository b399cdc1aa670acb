package hooks_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/meshery/meshery/server/extensions/hooks"
)

func cmcChainRecorder(calls *[]string, name string, err error) hooks.Hook {
	return func(ctx context.Context, ev *hooks.Event) error {
		*calls = append(*calls, name+":"+ev.Name)
		return err
	}
}

func TestCMCChainOrder(t *testing.T) {
	var calls []string
	h := hooks.Chain(
		cmcChainRecorder(&calls, "a", nil),
		cmcChainRecorder(&calls, "b", nil),
		cmcChainRecorder(&calls, "c", nil),
	)
	if err := h(context.Background(), &hooks.Event{Name: "design.deployed"}); err != nil {
		t.Fatalf("chain: %v", err)
	}
	want := []string{"a:design.deployed", "b:design.deployed", "c:design.deployed"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls = %v, want %v", calls, want)
	}
	if err := hooks.Chain()(context.Background(), &hooks.Event{}); err != nil {
		t.Errorf("empty chain: %v", err)
	}
}

func TestCMCChainStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	var calls []string
	h := hooks.Chain(
		cmcChainRecorder(&calls, "a", nil),
		cmcChainRecorder(&calls, "b", boom),
		cmcChainRecorder(&calls, "c", nil),
	)
	err := h(context.Background(), &hooks.Event{Name: "e"})
	if err != boom {
		t.Errorf("err = %v, want boom unchanged", err)
	}
	if want := []string{"a:e", "b:e"}; !slices.Equal(calls, want) {
		t.Errorf("calls = %v, want %v", calls, want)
	}
}

func TestCMCChainContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls []string
	h := hooks.Chain(
		cmcChainRecorder(&calls, "a", nil),
		func(context.Context, *hooks.Event) error { cancel(); return nil },
		cmcChainRecorder(&calls, "c", nil),
	)
	err := h(ctx, &hooks.Event{Name: "e"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if want := []string{"a:e"}; !slices.Equal(calls, want) {
		t.Errorf("calls = %v, want %v", calls, want)
	}
}
