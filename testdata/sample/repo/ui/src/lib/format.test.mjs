import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pluralize, truncate } from './format.mjs';

test('pluralize picks the singular only for one', () => {
  assert.equal(pluralize(1, 'model'), '1 model');
  assert.equal(pluralize(0, 'model'), '0 models');
  assert.equal(pluralize(3, 'policy', 'policies'), '3 policies');
});

test('truncate cuts long text with an ellipsis', () => {
  assert.equal(truncate('meshery', 10), 'meshery');
  assert.equal(truncate('meshery-istio', 8), 'meshery…');
});
