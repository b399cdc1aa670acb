package meshery.relationships_test

import data.meshery.relationships

components := [{"id": "a", "kind": "Pod"}, {"id": "b", "kind": "Service"}]

test_cmc_valid_design_has_no_denials if {
	relationships.deny == set() with input as {
		"components": components,
		"relationships": [{"kind": "edge", "from": "a", "to": "b"}, {"kind": "sibling", "from": "b", "to": "a"}],
	}
}

test_cmc_missing_component_denied if {
	relationships.deny == {
		"relationship 1: component c is not in the design",
		"relationship 1: component d is not in the design",
	} with input as {
		"components": components,
		"relationships": [{"kind": "edge", "from": "a", "to": "b"}, {"kind": "edge", "from": "c", "to": "d"}],
	}
}

test_cmc_unknown_kind_denied if {
	relationships.deny == {"relationship 0: kind mesh is unknown"} with input as {
		"components": components,
		"relationships": [{"kind": "mesh", "from": "a", "to": "b"}],
	}
}
