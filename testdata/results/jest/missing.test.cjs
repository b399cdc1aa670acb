'use strict';

// A test file that cannot run: the module it needs is not there.
const { summary } = require('./no-such-module.cjs');

test('never runs', () => {
  expect(summary()).toBe('');
});
