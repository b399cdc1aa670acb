package extensions_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/meshery/meshery/server/extensions"
)

type cmcAdapter struct{ name, tag string }

func (a cmcAdapter) Name() string               { return a.name }
func (a cmcAdapter) Ping(context.Context) error { return nil }

func TestCMCRegistryRegisterGet(t *testing.T) {
	r := extensions.NewRegistry()
	if err := r.Register(cmcAdapter{name: "meshery-istio", tag: "a"}); err != nil {
		t.Fatalf("register: %v", err)
	}
	got, ok := r.Get("meshery-istio")
	if !ok {
		t.Fatal("meshery-istio not found")
	}
	if got.(cmcAdapter).tag != "a" {
		t.Errorf("got %+v", got)
	}
	if _, ok := r.Get("meshery-linkerd"); ok {
		t.Error("meshery-linkerd found, never registered")
	}
}

func TestCMCRegistryRejects(t *testing.T) {
	r := extensions.NewRegistry()
	if err := r.Register(cmcAdapter{name: ""}); !errors.Is(err, extensions.ErrInvalidName) {
		t.Errorf("empty name: err = %v, want ErrInvalidName", err)
	}
	if err := r.Register(cmcAdapter{name: "meshery-istio", tag: "first"}); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := r.Register(cmcAdapter{name: "meshery-istio", tag: "second"}); !errors.Is(err, extensions.ErrDuplicate) {
		t.Errorf("duplicate: err = %v, want ErrDuplicate", err)
	}
	if got, _ := r.Get("meshery-istio"); got == nil || got.(cmcAdapter).tag != "first" {
		t.Errorf("after duplicate, got %+v, want the first adapter", got)
	}
}

func TestCMCRegistryNamesSorted(t *testing.T) {
	r := extensions.NewRegistry()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.Register(cmcAdapter{name: fmt.Sprintf("adapter-%02d", 49-i)})
			_ = r.Names()
		}()
	}
	wg.Wait()
	names := r.Names()
	if len(names) != 50 {
		t.Fatalf("got %d names, want 50", len(names))
	}
	if !slices.IsSorted(names) {
		t.Errorf("names not sorted: %v", names)
	}
	if names[0] != "adapter-00" || names[49] != "adapter-49" {
		t.Errorf("names = %v", names)
	}
}
