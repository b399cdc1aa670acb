// Recorded fixture: a test that never ends; the run is killed from outside
// (node_killed.xml), and the tests that finished before must survive.
import { test } from 'node:test';
test('first', () => {});
test('second', () => {});
test('hangs', async () => {
  await new Promise(() => setInterval(() => {}, 1000));
});
test('never reached', () => {});
