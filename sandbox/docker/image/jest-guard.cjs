// jest-guard.cjs is the grader's first setup file of every jest test
// file: it runs in the test file's own context before the test file, notes
// the test framework's globals and expect's matchers, and after each test
// and after the file checks that they are still the same. A test after
// which they changed fails; a file after which they changed fails whole.
'use strict';

const g = globalThis;
const NAMES = ['expect', 'test', 'it', 'describe', 'beforeAll', 'beforeEach', 'afterAll', 'afterEach', 'jest',
  'fit', 'xit', 'xtest', 'fdescribe', 'xdescribe'];
const MATCHERS = Symbol.for('$$jest-matchers-object');

const ownFunctions = (o) => {
  const m = new Map();
  if (o === null || (typeof o !== 'object' && typeof o !== 'function')) return m;
  for (const k of Reflect.ownKeys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, k);
    if (d && 'value' in d && typeof d.value === 'function') m.set(k, d.value);
  }
  return m;
};

const globals = NAMES.map((n) => [n, g[n]]);
const HOLDERS = ['expect', 'test', 'it', 'describe', 'jest', 'expect\'s matchers'];
const holders = [g.expect, g.test, g.it, g.describe, g.jest, g[MATCHERS] && g[MATCHERS].matchers];
const noted = holders.map(ownFunctions);
const matchersObject = g[MATCHERS];
const matchers = matchersObject && matchersObject.matchers;

function changed() {
  if (g[MATCHERS] !== matchersObject || (matchersObject && matchersObject.matchers !== matchers)) return 'expect\'s matchers';
  for (const [n, v] of globals) {
    if (g[n] !== v) return n;
  }
  for (let i = 0; i < holders.length; i++) {
    const now = ownFunctions(holders[i]);
    if (now.size !== noted[i].size) return 'a property of ' + HOLDERS[i];
    for (const [k, f] of noted[i]) {
      if (now.get(k) !== f) return String(k);
    }
  }
  return '';
}

function check() {
  const what = changed();
  if (what) throw new Error('cmcgrader: the test framework was changed during the run (' + what + ')');
}

g.afterEach(check);
g.afterAll(check);
