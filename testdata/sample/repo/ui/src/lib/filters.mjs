// Search and filtering of models and components in the UI.

/**
 * normalizeQuery trims a search query, lowercases it and collapses runs of
 * white space into one space.
 * @param {string} query
 */
export function normalizeQuery(query) {
  return String(query ?? '').trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * filterComponents returns the components that match a search query.
 *
 * A component is {name, displayName, kind, model}. The query is split on
 * white space into terms. A term "kind:<value>" keeps components whose kind
 * equals value and "model:<value>" those whose model equals value, both
 * case-insensitively; every other term must occur, case-insensitively, in
 * the component's name or displayName. All terms must match. An empty or
 * blank query matches everything.
 *
 * The result is a new array sorted by displayName, then name (plain string
 * order, not locale order); the input array is left as it was.
 * @param {Array<{name: string, displayName: string, kind: string, model: string}>} components
 * @param {string} query
 */
export function filterComponents(components, query) {
  throw new Error('not implemented');
}
