// jest-run.cjs runs a jest task's hidden tests for the grader, in-process
// with jest's own API, and writes one line to stdout: jest's JSON result
// (the document `jest --json` writes), test file names relative to the
// workspace.
//
// The grader's entry module, which node reads on its standard input,
// calls run() with the test files, the canary's name, the run's token and
// the folder of the base's installed packages (modules; empty for the
// image's jest).
// Jest gets the grader's configuration only: no configuration file,
// package.json "jest" key, transform, setup file, module mapper or
// __mocks__ folder of the workspace is read. Every test file gets the
// guard (jest-guard.cjs) as its first setup file, in its own context.
//
// The canary, a passing test named by the canary's name with the token as
// its subtest, is added to the result when jest ran to its end and
// reported each test file once. The process exits 1 when the result holds
// a failed test or a test file that could not run, else 0, as `jest`
// does. The functions that write the result and end the process are
// taken before any test file loads, and it ends without running 'exit'
// listeners.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const writeSync = fs.writeSync;
const stringify = JSON.stringify;
// process.exit would run 'exit' listeners, which could change the status.
const reallyExit = process.reallyExit;
const exit = (code) => reallyExit.call(process, code);
const relative = path.relative;

const GUARD = path.join(__dirname, 'jest-guard.cjs');

function fail(msg) {
  writeSync(2, 'cmcgrader-jest: ' + msg + '\n');
  exit(2);
}

exports.run = async function run({ root, tests, canary, token, modules }) {
  // With the base's packages (modules), jest is theirs; else the image's.
  const load = modules ? createRequire(path.join(modules, 'cmcgrader.cjs')) : require;
  let core, testResult;
  try {
    core = load('@jest/core');
    testResult = load('@jest/test-result');
  } catch (err) {
    fail('jest is not installed ' + (modules ? 'in ' + modules : 'in the image') + ': ' + err.message);
  }
  const config = {
    rootDir: root,
    roots: [root],
    testEnvironment: 'node',
    testRunner: 'jest-circus/runner',
    setupFiles: [],
    setupFilesAfterEnv: [GUARD],
    globalSetup: null,
    globalTeardown: null,
    transform: {},
    moduleNameMapper: {},
    modulePathIgnorePatterns: ['/__mocks__/'],
    testMatch: ['**/*'],
    testRegex: [],
    testPathIgnorePatterns: [],
    reporters: [],
    snapshotSerializers: [],
    automock: false,
    cache: false,
    watchman: false,
    injectGlobals: true,
    modulePaths: modules ? [modules] : [],
  };
  const argv = {
    _: tests.map((t) => path.join(root, t)),
    $0: 'jest',
    config: stringify(config),
    runInBand: true,
    runTestsByPath: true,
    ci: true,
    cache: false,
    watchman: false,
    silent: true,
    useStderr: true,
  };
  let results;
  try {
    ({ results } = await core.runCLI(argv, [root]));
  } catch (err) {
    fail('jest could not run: ' + (err && err.stack ? err.stack : String(err)));
  }
  const out = testResult.formatTestResults(results);
  let failed = false;
  const seen = new Map();
  for (const f of out.testResults) {
    f.name = relative(root, f.name);
    seen.set(f.name, (seen.get(f.name) || 0) + 1);
    if (f.status !== 'passed') failed = true;
    for (const a of f.assertionResults) {
      if (a.status === 'failed') failed = true;
    }
  }
  if (tests.every((t) => seen.get(path.normalize(t)) === 1) && seen.size === tests.length) {
    out.testResults.push({
      name: canary,
      status: 'passed',
      message: '',
      assertionResults: [
        { ancestorTitles: [], title: canary, fullName: canary, status: 'passed', failureMessages: [] },
        { ancestorTitles: [canary], title: token, fullName: canary + ' ' + token, status: 'passed', failureMessages: [] },
      ],
    });
  }
  writeSync(1, '\n' + stringify(out) + '\n');
  exit(failed ? 1 : 0);
};
