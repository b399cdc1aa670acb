import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes } from '../lib/format.mjs';

test('cmc formatBytes keeps small values in bytes', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1), '1 B');
  assert.equal(formatBytes(1023), '1023 B');
});

test('cmc formatBytes scales to binary units', () => {
  assert.equal(formatBytes(1024), '1 KiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(1048576), '1 MiB');
  assert.equal(formatBytes(5 * 1024 ** 3 + 300 * 1024 ** 2), '5.3 GiB');
  assert.equal(formatBytes(2 * 1024 ** 4), '2 TiB');
  assert.equal(formatBytes(3000 * 1024 ** 4), '3000 TiB');
});

test('cmc formatBytes rejects negative and non-finite input', () => {
  for (const bad of [-1, Number.NaN, Infinity, '12', null]) {
    assert.throws(() => formatBytes(bad), RangeError, `input ${String(bad)}`);
  }
});
