// Recorded fixture: a test file that does not parse.
import { test } from 'node:test';
test('never loads', () => {}
