# Relationship policies: what the design evaluator checks before it saves
# a design's relationships between components.
package meshery.relationships

# The relationship kinds the registry knows.
known_kinds := {"edge", "hierarchical", "sibling"}

# deny holds one message for each problem of input.relationships against
# input.components.
