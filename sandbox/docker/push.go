package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// ErrBadRegistry is returned for a registry that is not HOST[:PORT][/PATH].
var ErrBadRegistry = errors.New("bad registry")

// ErrBadAuth is returned by ReadRegistryAuth for a file that does not hold
// a base64-encoded JSON object.
var ErrBadAuth = errors.New("bad registry auth")

// noAuth is the X-Registry-Auth value of no credentials: "{}" in base64.
var noAuth = base64.URLEncoding.EncodeToString([]byte("{}"))

// maxAuthFile bounds the registry auth file read.
const maxAuthFile = 64 << 10

// CheckRegistry checks that registry names a registry the engine pushes
// to as written: HOST[:PORT][/PATH], with no scheme and no trailing
// slash, whose host has a dot or a port or is localhost (else the engine
// reads the first part as a Docker Hub account).
func CheckRegistry(registry string) error {
	fail := func(why, fix string) error {
		return fmt.Errorf("%w %q: %s; %s", ErrBadRegistry, registry, why, fix)
	}
	switch {
	case registry == "":
		return fail("empty", "give HOST[:PORT][/PATH], e.g. registry.example.com:5000/exams")
	case strings.Contains(registry, "://"):
		_, rest, _ := strings.Cut(registry, "://")
		return fail("a scheme is not part of a registry name", fmt.Sprintf("drop it: %s (the engine chooses HTTPS, or HTTP for an insecure registry)", rest))
	case strings.HasSuffix(registry, "/"):
		return fail("a trailing slash", "drop it: "+strings.TrimRight(registry, "/"))
	}
	host, _, _ := strings.Cut(registry, "/")
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return fail(fmt.Sprintf("the engine would read %q as a Docker Hub account, not a host", host),
			fmt.Sprintf("give a host with a dot or a port, e.g. %s:5000 or %s.example.com", host, host))
	}
	named, err := reference.ParseNormalizedNamed(registry + "/x")
	if err != nil {
		return fail(err.Error(), "hosts and ports as in a URL, path parts in lower case letters, digits, '.', '_' and '-'")
	}
	if reference.Domain(named) != host {
		return fail(fmt.Sprintf("the engine would read its host as %q", reference.Domain(named)), "give HOST[:PORT][/PATH]")
	}
	return nil
}

// PushName returns the name ref is pushed as to registry:
// REGISTRY/REPOSITORY:TAG, with ref's repository path (without its own
// registry, and without Docker Hub's "library/") and tag ("latest" when it
// has none). ref must name a repository: an image ID or a digest-only
// reference has no tag to push.
func PushName(ref, registry string) (string, error) {
	if err := CheckRegistry(registry); err != nil {
		return "", err
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w (give a name such as %s)", ref, err, BaseTag("1.26.8"))
	}
	tagged, ok := reference.TagNameOnly(named).(reference.Tagged)
	if !ok {
		return "", fmt.Errorf("image %q has a digest and no tag: give it by name and tag", ref)
	}
	repo := reference.Path(named)
	if reference.Domain(named) == "docker.io" {
		repo = strings.TrimPrefix(repo, "library/")
	}
	name := registry + "/" + repo + ":" + tagged.Tag()
	if _, err := reference.ParseNormalizedNamed(name); err != nil {
		return "", fmt.Errorf("push %s to %s: %s is not a valid name: %w", ref, registry, name, err)
	}
	return name, nil
}

// ReadRegistryAuth reads a registry auth file: one base64-encoded JSON
// object, as the engine takes in X-Registry-Auth (e.g.
// {"username":"u","password":"p","serveraddress":"host:5000"}). It
// returns the encoded value, surrounding white space dropped.
func ReadRegistryAuth(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("registry auth: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAuthFile+1))
	if err != nil {
		return "", fmt.Errorf("registry auth %s: %w", name, err)
	}
	if len(data) > maxAuthFile {
		return "", fmt.Errorf("%w: %s is over %d KiB: it should hold one base64 JSON object", ErrBadAuth, name, maxAuthFile>>10)
	}
	auth := strings.TrimSpace(string(data))
	var raw []byte
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding} {
		if raw, err = enc.DecodeString(auth); err == nil {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s is not base64 (make it with: printf '{\"username\":\"U\",\"password\":\"P\"}' | base64 -w0)", ErrBadAuth, name)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("%w: %s decodes to no JSON object: %w", ErrBadAuth, name, err)
	}
	return base64.URLEncoding.EncodeToString(raw), nil
}

// PushOptions configures Push.
type PushOptions struct {
	// RegistryAuth is the X-Registry-Auth value (ReadRegistryAuth); empty
	// pushes without credentials.
	RegistryAuth string
	// Progress, when set, receives one plain line per step of the push
	// (a layer prepared, pushed or already there; the digest).
	Progress func(line string)
}

// Push tags the image ref as PushName(ref, registry), pushes it there and
// returns the pushed image by digest, REGISTRY/REPOSITORY@sha256:...: the
// immutable reference a cluster should run. An error the engine reports
// in the push's progress stream is returned as an error.
func (d *Engine) Push(ctx context.Context, ref, registry string, opts PushOptions) (string, error) {
	name, err := PushName(ref, registry)
	if err != nil {
		return "", err
	}
	if _, err := d.ImageID(ctx, ref); err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	if _, err := d.cli.ImageTag(ctx, client.ImageTagOptions{Source: ref, Target: name}); err != nil {
		return "", fmt.Errorf("tag %s as %s: %w", ref, name, d.engineErr("tag image", err))
	}
	d.log.WithField("image", name).Info("pushing")
	auth := opts.RegistryAuth
	if auth == "" {
		auth = noAuth // engines before API 1.42 refuse a push without the header
	}
	resp, err := d.cli.ImagePush(ctx, name, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return "", d.engineErr("push "+name, err)
	}
	defer resp.Close()
	digest, err := ReadPushStream(resp, opts.Progress)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", name, err)
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", name, err)
	}
	return reference.TrimNamed(named).String() + "@" + digest, nil
}

// ReadPushStream reads the engine's push progress stream (JSON messages)
// to its end, calls progress (when not nil) with one plain line per
// message that is not a progress-bar update, and returns the digest of
// the pushed manifest. An error message in the stream, a stream cut
// before its end, or a stream that names no digest is an error.
func ReadPushStream(r io.Reader, progress func(string)) (string, error) {
	dec := json.NewDecoder(r)
	var digest string
	for {
		var m jsonstream.Message
		err := dec.Decode(&m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read push progress: %w", err)
		}
		if m.Error != nil {
			return "", fmt.Errorf("engine: %s", strings.TrimSpace(m.Error.Message))
		}
		if d, ok := pushDigest(m); ok {
			digest = d
		}
		if line := progressLine(m); line != "" && progress != nil {
			progress(line)
		}
	}
	if digest == "" {
		return "", errors.New("the push ended without naming a digest")
	}
	return digest, nil
}

// pushDigest returns the digest a push message's aux part names.
func pushDigest(m jsonstream.Message) (string, bool) {
	if m.Aux == nil {
		return "", false
	}
	var aux struct {
		Digest string `json:"Digest"`
	}
	if json.Unmarshal(*m.Aux, &aux) != nil || !strings.HasPrefix(aux.Digest, "sha256:") {
		return "", false
	}
	return aux.Digest, true
}

// progressLine is the plain line for a push message, or "" for a
// progress-bar update and a message with nothing to say.
func progressLine(m jsonstream.Message) string {
	if m.Progress != nil && (m.Progress.Current > 0 || m.Progress.Total > 0) {
		return ""
	}
	s := strings.TrimSpace(m.Status)
	if s == "" {
		s = strings.TrimSpace(m.Stream)
	}
	if s == "" {
		return ""
	}
	if m.ID != "" {
		return m.ID + ": " + s
	}
	return s
}
