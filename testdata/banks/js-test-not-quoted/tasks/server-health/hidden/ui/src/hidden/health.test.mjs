import { test } from 'node:test';
import assert from 'node:assert/strict';

test('health shows OK', () => {
  assert.ok(true);
});
