package tasks

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// strictYAML decodes one YAML file of a bank strictly: exactly one
// document, a mapping at the top, no unknown or repeated keys at any level
// and values of the expected kinds. It walks the parsed node tree rather
// than relying on the decoder's KnownFields, so that every problem names
// its field (and line) and all of them are reported, not just the first.
type strictYAML struct {
	file  string // bank-relative path, for problems
	probs *problems
	// failed holds the fields already reported, whose values are unset:
	// later checks skip them rather than report "required" as well.
	failed map[string]bool
}

func newStrictYAML(file string, probs *problems) strictYAML {
	return strictYAML{file: file, probs: probs, failed: map[string]bool{}}
}

// reported says whether field, or a mapping that holds it, was reported
// while decoding.
func reported(failed map[string]bool, field string) bool {
	for {
		if failed[field] {
			return true
		}
		i := strings.LastIndexByte(field, '.')
		if i < 0 {
			return false
		}
		field = field[:i]
	}
}

func (y strictYAML) bad(field, format string, args ...any) {
	y.failed[field] = true
	y.probs.add(y.file, field, format, args...)
}

// field binds a YAML key to where its value goes. into is a *string,
// **int, **float64, *[]string, or a func(field string, n *yaml.Node) for
// values the caller walks itself (nested mappings).
type field struct {
	key  string
	into any
}

// parse returns the top-level mapping of data, or nil after reporting why
// there is none.
func (y strictYAML) parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			y.probs.add(y.file, "", "is empty")
		} else {
			y.probs.add(y.file, "", "is not valid YAML: %v", err)
		}
		return nil
	}
	var more yaml.Node
	switch err := dec.Decode(&more); {
	case errors.Is(err, io.EOF):
	case err != nil:
		y.probs.add(y.file, "", "is not valid YAML: %v", err)
		return nil
	default:
		y.probs.add(y.file, "", "holds more than one YAML document (line %d); keep one", more.Line)
		return nil
	}
	if len(doc.Content) == 0 {
		y.probs.add(y.file, "", "is empty")
		return nil
	}
	root := doc.Content[0]
	if resolve(root).Kind != yaml.MappingNode {
		y.probs.add(y.file, "", "must be a YAML mapping of fields (line %d)", root.Line)
		return nil
	}
	return resolve(root)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping decodes the mapping n into fields. prefix is the dotted path of
// n ("" at the top).
func (y strictYAML) mapping(prefix string, n *yaml.Node, fields []field) {
	known := make(map[string]any, len(fields))
	keys := make([]string, 0, len(fields))
	for _, f := range fields {
		known[f.key] = f.into
		keys = append(keys, f.key)
	}
	y.pairs(prefix, n, func(name string, key, val *yaml.Node) {
		into, ok := known[key.Value]
		if !ok {
			y.bad(name, "unknown field (line %d); known fields are %s", key.Line, strings.Join(keys, ", "))
			return
		}
		y.value(name, val, into)
	})
}

// pairs calls fn for each key of mapping n, reporting keys that are not
// plain strings or are repeated. name is the dotted path of the key.
func (y strictYAML) pairs(prefix string, n *yaml.Node, fn func(name string, key, val *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		y.bad(prefix, "must be a mapping of fields (line %d)", n.Line)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode || key.Tag == "!!merge" {
			y.bad(prefix, "keys must be plain names (line %d)", key.Line)
			continue
		}
		name := key.Value
		if prefix != "" {
			name = prefix + "." + key.Value
		}
		if line, dup := seen[key.Value]; dup {
			y.bad(name, "is set twice (lines %d and %d); keep one", line, key.Line)
			continue
		}
		seen[key.Value] = key.Line
		fn(name, key, val)
	}
}

// value decodes val into into, reporting a value of the wrong kind. A null
// value leaves into unset.
func (y strictYAML) value(name string, val *yaml.Node, into any) {
	val = resolve(val)
	if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
		return
	}
	switch dst := into.(type) {
	case func(string, *yaml.Node):
		dst(name, val)
	case *string:
		if val.Kind != yaml.ScalarNode {
			y.bad(name, "must be a single value, not a list or mapping (line %d)", val.Line)
			return
		}
		*dst = val.Value
	case **int:
		var v int
		if val.Kind != yaml.ScalarNode || val.Decode(&v) != nil {
			y.bad(name, "must be a whole number (line %d)", val.Line)
			return
		}
		*dst = &v
	case **float64:
		var v float64
		if val.Kind != yaml.ScalarNode || val.Decode(&v) != nil {
			y.bad(name, "must be a number (line %d)", val.Line)
			return
		}
		*dst = &v
	case *[]string:
		if val.Kind != yaml.SequenceNode {
			y.bad(name, "must be a list, like [a, b] (line %d)", val.Line)
			return
		}
		list := make([]string, 0, len(val.Content))
		for _, item := range val.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				y.bad(name, "items must be single values (line %d)", item.Line)
				return
			}
			list = append(list, item.Value)
		}
		*dst = list
	default:
		panic("tasks: no YAML decoding for field " + name)
	}
}
