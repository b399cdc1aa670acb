package docker

import (
	"context"
	"fmt"
	"io"

	"github.com/cmcgrader/cmcgrader/internal/atomicfile"
)

// Export writes the image ref, and only it, to the file out as a docker
// save archive (an OCI image layout with manifest.json), through a
// temporary file renamed into place: out is the whole archive or is left
// as it was. It returns the image ID and the archive's size in bytes.
// A node without a registry loads the archive with
// `ctr -n k8s.io images import FILE`.
func (d *Engine) Export(ctx context.Context, ref, out string) (id string, size int64, err error) {
	id, err = d.ImageID(ctx, ref)
	if err != nil {
		return "", 0, fmt.Errorf("export: %w", err)
	}
	d.log.WithField("image", ref).Info("exporting")
	rc, err := d.cli.ImageSave(ctx, []string{ref})
	if err != nil {
		return "", 0, d.engineErr("save image "+ref, err)
	}
	defer rc.Close()
	err = atomicfile.Write(out, func(w io.Writer) error {
		n, err := io.Copy(w, rc)
		size = n
		return err
	})
	if err != nil {
		return "", 0, fmt.Errorf("export %s to %s: %w", ref, out, d.streamErr(ctx, "save image", err))
	}
	return id, size, nil
}
