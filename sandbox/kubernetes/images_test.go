package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// fixedImages prepares the same image, or fails, every time.
type fixedImages struct {
	img sandbox.Image
	err error
}

func (f fixedImages) Prepare(context.Context, sandbox.ImageRequest) (sandbox.Image, error) {
	return f.img, f.err
}

func TestImages(t *testing.T) {
	local := sandbox.Image{Ref: "cmcgrader-sandbox:go1.26.8", ID: "sha256:abc", Warm: true}
	pushed := "registry.example:5000/cmcgrader-sandbox@sha256:def"
	boom := errors.New("registry refused")
	tests := []struct {
		name    string
		inner   fixedImages
		publish PublishFunc
		want    sandbox.Image
		errHas  string
	}{
		{name: "no registry: the local name", inner: fixedImages{img: local},
			want: sandbox.Image{Ref: local.Ref, ID: local.Ref, Warm: true}},
		{name: "no ref: the ID", inner: fixedImages{img: sandbox.Image{ID: "sha256:abc"}},
			want: sandbox.Image{ID: "sha256:abc"}},
		{name: "pushed: by digest", inner: fixedImages{img: local},
			publish: func(_ context.Context, ref string) (string, error) {
				if ref != local.Ref {
					return "", errors.New("wrong ref " + ref)
				}
				return pushed, nil
			},
			want: sandbox.Image{Ref: local.Ref, ID: pushed, Warm: true}},
		{name: "push fails", inner: fixedImages{img: local},
			publish: func(context.Context, string) (string, error) { return "", boom },
			errHas:  "make image cmcgrader-sandbox:go1.26.8 available to the cluster: registry refused"},
		{name: "build fails", inner: fixedImages{err: sandbox.ErrImageNotFound}, errHas: "image not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := &Images{Inner: tt.inner, Publish: tt.publish}
			got, err := im.Prepare(context.Background(), sandbox.ImageRequest{})
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want %q", err, tt.errHas)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Prepare = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
