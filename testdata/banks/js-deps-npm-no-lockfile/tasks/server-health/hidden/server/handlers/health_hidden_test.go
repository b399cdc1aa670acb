package handlers

import "testing"

func TestHealthOK(t *testing.T) {
	if !Healthy() {
		t.Fatal("not healthy")
	}
}
