import { test } from 'node:test';
import assert from 'node:assert/strict';
import { badge } from '../components/badge.mjs';

test('badge shows OK', () => {
  assert.equal(badge(true), 'OK');
});

test("badge shows DOWN", () => {
  assert.equal(badge(false), 'DOWN');
});
