import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeQuery } from './filters.mjs';

test('normalizeQuery trims, lowercases and collapses spaces', () => {
  assert.equal(normalizeQuery('  Kind:Pod   Istio '), 'kind:pod istio');
  assert.equal(normalizeQuery(undefined), '');
});
