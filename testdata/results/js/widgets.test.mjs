// Recorded fixture: passing, failing, skipped and nested tests for the
// JUnit reporter (see ../README.md).
import { describe, it, test, before } from 'node:test';
import assert from 'node:assert/strict';

test('renders the empty state', () => {
  assert.equal([].length, 0);
});

test('counts widgets', () => {
  assert.equal(1 + 1, 3);
});

test('needs a browser', { skip: 'no DOM here' }, () => {});

test('dark mode', { todo: 'later' }, () => {
  throw new Error('not yet');
});

describe('WidgetList', () => {
  it('sorts by name', () => {});
  describe('filtering', () => {
    it('keeps <Mesh> & "Kuma" \'quoted\'', () => {
      throw new Error('bad \u0001 byte, \u001b[31mred\u001b[0m, <b>tag</b> & "quotes"\nsecond line \uD800 lone');
    });
    it('skipped inside', { skip: true }, () => {});
  });
});

test('designs', async (t) => {
  await t.test('create', () => {});
  await t.test('delete', () => {
    assert.deepEqual({ id: 1, name: 'a' }, { id: 1, name: 'b' });
  });
});

describe('with a failing hook', () => {
  before(() => {
    throw new Error('cluster unreachable');
  });
  it('never runs', () => {});
});

test('emoji ✓ and ünïcode', () => {});
