package handlers

import "testing"

func TestHealthOK(t *testing.T) {
	t.Parallel()
	if !Healthy() {
		t.Fatal("not healthy")
	}
}

// Parallel subtests are fine: they end before their parent does.
func TestHealthReady(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		t.Parallel()
		if !Healthy() {
			t.Fatal("not healthy")
		}
	})
}
