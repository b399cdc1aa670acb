package meshmodel

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed models
var builtin embed.FS

// Registry holds loaded models.
type Registry struct {
	models []Model
}

// Builtin loads the models shipped with the server.
func Builtin() (*Registry, error) {
	sub, err := fs.Sub(builtin, "models")
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

// Load reads every <dir>/model.json of fsys, with the components in
// <dir>/components/*.json.
func Load(fsys fs.FS) (*Registry, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read models: %w", err)
	}
	r := &Registry{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := loadModel(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		r.models = append(r.models, m)
	}
	sort.Slice(r.models, func(i, j int) bool {
		a, b := r.models[i], r.models[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return r, nil
}

func loadModel(fsys fs.FS, dir string) (Model, error) {
	var m Model
	file := path.Join(dir, "model.json")
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return m, fmt.Errorf("read model: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", file, err)
	}
	if m.Name == "" || m.Version == "" {
		return m, fmt.Errorf("%s: name and version are required", file)
	}
	files, err := fs.Glob(fsys, path.Join(dir, "components", "*.json"))
	if err != nil {
		return m, err
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return m, fmt.Errorf("read component: %w", err)
		}
		var c Component
		if err := json.Unmarshal(data, &c); err != nil {
			return m, fmt.Errorf("%s: %w", f, err)
		}
		c.Model = m.Name
		m.Components = append(m.Components, c)
	}
	sort.Slice(m.Components, func(i, j int) bool { return m.Components[i].Kind < m.Components[j].Kind })
	return m, nil
}

// Models returns every loaded model, sorted by name then version string.
func (r *Registry) Models() []Model {
	return append([]Model(nil), r.models...)
}

// Get returns the model with this name and exact version.
func (r *Registry) Get(name, version string) (Model, bool) {
	for _, m := range r.models {
		if m.Name == name && m.Version == version {
			return m, true
		}
	}
	return Model{}, false
}

// Components returns the components of every model whose kind contains
// the query, case-insensitively.
func (r *Registry) Components(query string) []Component {
	query = strings.ToLower(query)
	var out []Component
	for _, m := range r.models {
		for _, c := range m.Components {
			if strings.Contains(strings.ToLower(c.Kind), query) {
				out = append(out, c)
			}
		}
	}
	return out
}
