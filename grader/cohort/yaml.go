package cohort

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAML reads a YAML roster: one document, a mapping whose only key
// is candidates, a list of mappings with the keys of Columns. Values are
// taken as written (id: 0042 is "0042"); anchors, aliases and merge keys
// are refused, as are unknown and repeated keys.
func parseYAML(data []byte, probs *problems) []row {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			probs.add(0, "", "is empty; list the candidates under candidates:")
		} else {
			probs.add(0, "", "is not valid YAML: %v", err)
		}
		return nil
	}
	var more yaml.Node
	switch err := dec.Decode(&more); {
	case errors.Is(err, io.EOF):
	case err != nil:
		probs.add(0, "", "is not valid YAML: %v", err)
		return nil
	default:
		probs.add(more.Line, "", "holds a second YAML document; keep one")
		return nil
	}
	if len(doc.Content) == 0 {
		probs.add(0, "", "is empty; list the candidates under candidates:")
		return nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		probs.add(top.Line, "", "must be a mapping with one key, candidates, that lists the candidates")
		return nil
	}
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		switch {
		case !plainKey(key):
			probs.add(key.Line, "", "keys must be plain names")
		case key.Value != "candidates":
			probs.add(key.Line, key.Value, "unknown key; a roster has one key, candidates")
		case list != nil:
			probs.add(key.Line, key.Value, "is set twice (lines %d and %d); keep one", list.Line, key.Line)
		default:
			list = val
		}
	}
	switch {
	case list == nil:
		probs.add(top.Line, "", "has no candidates: key listing the candidates")
		return nil
	case list.Kind == yaml.ScalarNode && list.Tag == "!!null":
		return nil // "lists no candidates"
	case list.Kind != yaml.SequenceNode:
		probs.add(list.Line, "candidates", "must be a list of candidates, each a mapping (- id: ...)")
		return nil
	case len(list.Content) > MaxRosterRows:
		probs.add(0, "", "has more than %d candidates; split the cohort into several rosters", MaxRosterRows)
		return nil
	}
	rows := make([]row, 0, len(list.Content))
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			probs.add(item.Line, "", "each candidate must be a mapping of %s", strings.Join(Columns, ", "))
			continue
		}
		rows = append(rows, yamlRow(item, probs))
	}
	return rows
}

// yamlRow reads one candidate's mapping.
func yamlRow(n *yaml.Node, probs *problems) row {
	r := row{line: n.Line, values: map[string]string{}, lines: map[string]int{}, failed: map[string]bool{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		switch {
		case !plainKey(key):
			probs.add(key.Line, "", "keys must be plain names")
			continue
		case !isColumn(key.Value):
			probs.add(key.Line, key.Value, "unknown key; the keys are %s", strings.Join(Columns, ", "))
			continue
		}
		if first, dup := r.lines[key.Value]; dup {
			probs.add(key.Line, key.Value, "is set twice (lines %d and %d); keep one", first, key.Line)
			continue
		}
		r.lines[key.Value] = key.Line
		switch {
		case val.Kind == yaml.AliasNode || val.Anchor != "":
			probs.add(key.Line, key.Value, "write the value itself, not an anchor or alias")
			r.failed[key.Value] = true
		case val.Kind != yaml.ScalarNode:
			probs.add(key.Line, key.Value, "must be a single value, not a list or mapping")
			r.failed[key.Value] = true
		case val.Tag == "!!null":
			// Left empty.
		default:
			r.values[key.Value] = val.Value
		}
	}
	return r
}

// plainKey reports whether n is a plain scalar key (not a merge key, an
// alias or a complex key).
func plainKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag != "!!merge"
}
