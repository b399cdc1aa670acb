// Recorded fixture: a test file whose process exits part-way.
import { test } from 'node:test';
console.log('exits.test.mjs: starting');
test('before the exit', () => {});
test('calls process.exit', () => {
  console.error('exiting with 3');
  process.exit(3);
});
test('after the exit', () => {});
