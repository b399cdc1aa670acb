// junit-reporter.mjs is a reporter for Node's built-in test runner that
// writes one JUnit XML document:
//
//   node --test --test-reporter=/opt/cmcgrader/junit-reporter.mjs \
//        --test-reporter-destination=stdout a.test.mjs b.test.mjs
//
// Each top-level test is written as soon as it finishes, as a <testsuite>
// named by its file's path relative to the working directory, holding a
// <testcase> per test with that path as its classname. A run killed
// part-way thus leaves the results it reached, in a truncated document.
//
// Tests nested in describe() or t.test() are named "parent > child";
// top-level names stay as written. describe() suites are not test cases
// themselves unless they failed for their own reason (a failing hook) or
// were skipped whole (Node reports none of their tests). A file that fails
// outside any test (a syntax error, process.exit) is a failed test case
// named by the file, with its stderr. Text is escaped for XML 1.0 (control
// characters become U+FFFD), colour sequences are dropped, and paths under
// the working directory are made relative. Works with Node 18.20 and later.

import { relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

const MAX_MESSAGE = 2000; // characters of a failure's message attribute
const MAX_DETAILS = 16384; // characters of a failure's text
const MAX_STREAM = 16384; // characters of a file's stdout and stderr kept (the tail)

const cwd = process.cwd();

export default async function* junitReporter(source) {
  const files = new Map();
  const problems = [];
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="node --test">\n';
  for await (const event of source) {
    let out = '';
    try {
      switch (event.type) {
        case 'test:pass':
        case 'test:fail': {
          const st = record(files, event.type === 'test:fail', event.data);
          if (st && st.cases.length > 0) out = renderSuite(st, st.cases.splice(0));
          break;
        }
        case 'test:stdout':
        case 'test:stderr':
          capture(files, event.type === 'test:stdout' ? 'stdout' : 'stderr', event.data);
          break;
        default:
      }
    } catch (err) {
      if (problems.length < 20) problems.push(err && err.stack ? err.stack : String(err));
    }
    if (out !== '') yield out;
  }
  yield finish(files, problems);
}

// fileState returns the state kept for one test file, keyed by its path
// relative to the working directory.
function fileState(files, rawFile) {
  const key = displayPath(rawFile);
  let st = files.get(key);
  if (!st) {
    st = { name: key, cases: [], pending: new Map(), stdout: '', stderr: '' };
    files.set(key, st);
  }
  return st;
}

// absolutePath turns what the runner reports as a file (a path, or a
// file: URL on Node 18) into a path.
function absolutePath(file) {
  if (typeof file !== 'string' || file === '') return '';
  if (file.startsWith('file:')) {
    try {
      return fileURLToPath(file);
    } catch {
      return file;
    }
  }
  return file;
}

function displayPath(file) {
  const abs = absolutePath(file);
  if (abs === '' || !isAbsolute(abs)) return abs;
  const rel = relative(cwd, abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

// record handles one finished test and returns its file's state, whose
// cases are ready to write. Node reports a test's subtests before the test
// itself, in declaration order, so finished cases wait in st.pending by
// nesting level until their parent arrives and prefixes their names.
function record(files, failed, data) {
  if (!data || typeof data !== 'object') return null;
  const st = fileState(files, data.file);
  const nesting = Number.isInteger(data.nesting) && data.nesting >= 0 ? data.nesting : 0;
  const name = typeof data.name === 'string' ? data.name : String(data.name);

  const children = [];
  for (const level of [...st.pending.keys()].sort((a, b) => a - b)) {
    if (level > nesting) {
      children.push(...st.pending.get(level));
      st.pending.delete(level);
    }
  }

  const details = data.details || {};
  const error = details.error;
  const failureType = error && error.failureType;
  const isFile = nesting === 0 && name !== '' && (name === data.file || name === absolutePath(data.file));
  if (isFile) {
    // The runner's own test for a whole file: report it only when the
    // file failed outside its tests.
    st.cases.push(...children);
    if (failed && !(failureType === 'subtestsFailed' && children.length > 0)) {
      const c = newCase(st.name, st.name, details, data, failed);
      c.fileFailure = true;
      if (error && Number.isInteger(error.exitCode)) c.exit = `exit code ${error.exitCode}`;
      if (error && typeof error.signal === 'string') c.exit = `signal ${error.signal}`;
      st.cases.push(c);
    }
    return st;
  }

  const out = [];
  const isSuite = details.type === 'suite';
  const skippedWhole = (isSet(data.skip) || isSet(data.todo)) && children.length === 0;
  if (!isSuite || (failed && failureType !== 'subtestsFailed') || skippedWhole) {
    out.push(newCase(name, st.name, details, data, failed));
  }
  for (const child of children) {
    child.name = `${name} > ${child.name}`;
    out.push(child);
  }
  if (nesting === 0) {
    st.cases.push(...out);
  } else {
    if (!st.pending.has(nesting)) st.pending.set(nesting, []);
    st.pending.get(nesting).push(...out);
  }
  return st;
}

function newCase(name, file, details, data, failed) {
  const ms = Number(details.duration_ms);
  const c = { name, file, time: Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0, status: 'pass' };
  if (isSet(data.skip) || isSet(data.todo)) {
    c.status = 'skip';
    const why = isSet(data.skip) ? data.skip : data.todo;
    c.message = typeof why === 'string' ? why : isSet(data.todo) ? 'todo' : '';
  } else if (failed) {
    c.status = 'fail';
    const f = describeFailure(details.error);
    c.message = f.message;
    c.type = f.type;
    c.details = f.details;
  }
  return c;
}

function isSet(v) {
  return v !== undefined && v !== null && v !== false;
}

// describeFailure turns the runner's error (an ERR_TEST_FAILURE whose
// cause is what the test threw) into a message, a type and a text.
function describeFailure(error) {
  if (error === undefined || error === null) return { message: 'failed', type: '', details: '' };
  const cause = error.cause;
  const own = messageOf(error);
  let thrown = error;
  let message = own;
  if (cause !== undefined && cause !== null) {
    thrown = cause;
    const inner = messageOf(cause);
    if (error.failureType === 'testCodeFailure' || inner === own) {
      message = inner;
    } else if (inner !== '') {
      message = `${own}: ${inner}`;
    }
  }
  let type = '';
  if (thrown && typeof thrown === 'object' && typeof thrown.name === 'string') type = thrown.name;
  else if (error.failureType) type = String(error.failureType);
  let text;
  if (typeof thrown === 'string') {
    text = thrown;
  } else {
    try {
      text = inspect(thrown, { depth: 3, colors: false, breakLength: 100, maxStringLength: MAX_DETAILS });
    } catch {
      text = String(thrown);
    }
  }
  return { message, type, details: text };
}

function messageOf(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof v.message === 'string') return v.message;
  try {
    return inspect(v, { depth: 1, colors: false });
  } catch {
    return String(v);
  }
}

function capture(files, stream, data) {
  if (!data || typeof data.message !== 'string') return;
  const st = fileState(files, data.file);
  let s = st[stream] + data.message;
  if (s.length > 2 * MAX_STREAM) s = s.slice(s.length - MAX_STREAM);
  st[stream] = s;
}

function tail(s, max) {
  return s.length > max ? `[cmcgrader: ${s.length - max} characters cut]\n${s.slice(s.length - max)}` : s;
}

function head(s, max) {
  return s.length > max ? `${s.slice(0, max)}\n[cmcgrader: ${s.length - max} characters cut]` : s;
}

// clean makes candidate text shorter and machine-independent: colours are
// dropped and paths under the working directory become relative.
function clean(s) {
  let out = String(s).replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '');
  const prefix = cwd.endsWith('/') ? cwd : `${cwd}/`;
  if (prefix !== '/') out = out.split(`file://${prefix}`).join('').split(prefix).join('');
  return out;
}

// Characters XML 1.0 does not allow, lone surrogates included.
const INVALID_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const TEXT_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const ATTR_ESCAPES = { ...TEXT_ESCAPES, '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

function escapeText(s) {
  return String(s).replace(INVALID_XML, '\uFFFD').replace(/[&<>]/g, (c) => TEXT_ESCAPES[c]);
}

function escapeAttr(s) {
  return String(s).replace(INVALID_XML, '\uFFFD').replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESCAPES[c]);
}

function seconds(t) {
  return (Number.isFinite(t) && t > 0 ? t : 0).toFixed(6);
}

// fileFailure explains a file that failed outside its tests: how its
// process ended, the first error it printed, and its output's tail.
function fileFailure(c, st) {
  const first = /^\s*((?:[A-Z][A-Za-z]*)?Error\b.*)$/m.exec(st.stderr);
  c.message = `test file failed${c.exit ? ` (${c.exit})` : ''}${first ? `: ${first[1]}` : ''}`;
  c.type = first ? first[1].split(':')[0] : 'TestFileFailure';
  const parts = [];
  if (st.stderr) parts.push(`stderr:\n${tail(st.stderr, MAX_STREAM)}`);
  if (st.stdout) parts.push(`stdout:\n${tail(st.stdout, MAX_STREAM)}`);
  c.details = parts.length > 0 ? parts.join('\n') : 'the test file printed nothing';
}

// renderSuite writes cases of one file as a <testsuite>. Each top-level
// test is written as soon as it finishes, so a run killed part-way still
// leaves the results it reached (a file may thus have several suites).
function renderSuite(st, cases) {
  const f = cases.filter((c) => c.status === 'fail').length;
  const s = cases.filter((c) => c.status === 'skip').length;
  const t = cases.reduce((sum, c) => sum + c.time, 0);
  const body = [`  <testsuite name="${escapeAttr(st.name)}" tests="${cases.length}" failures="${f}" errors="0" skipped="${s}" time="${seconds(t)}">`];
  for (const c of cases) {
    const open = `    <testcase name="${escapeAttr(clean(c.name))}" classname="${escapeAttr(c.file)}" time="${seconds(c.time)}"`;
    if (c.status === 'pass') {
      body.push(`${open}/>`);
      continue;
    }
    body.push(`${open}>`);
    if (c.status === 'skip') {
      body.push(c.message ? `      <skipped message="${escapeAttr(head(clean(c.message), MAX_MESSAGE))}"/>` : '      <skipped/>');
    } else {
      if (c.fileFailure) fileFailure(c, st);
      const type = c.type ? ` type="${escapeAttr(c.type)}"` : '';
      body.push(`      <failure message="${escapeAttr(head(clean(c.message || 'failed'), MAX_MESSAGE))}"${type}>${escapeText(head(clean(c.details || ''), MAX_DETAILS))}</failure>`);
    }
    body.push('    </testcase>');
  }
  body.push('  </testsuite>', '');
  return body.join('\n');
}

// finish writes the cases whose parent never reported (a crashed file),
// the reporter's own problems, and closes the document.
function finish(files, problems) {
  let out = '';
  for (const st of files.values()) {
    const rest = [];
    for (const level of [...st.pending.keys()].sort((a, b) => a - b)) rest.push(...st.pending.get(level));
    st.pending.clear();
    if (rest.length > 0) out += renderSuite(st, rest);
  }
  if (problems.length > 0) {
    const st = { name: 'junit-reporter', stdout: '', stderr: '' };
    const c = { name: 'junit-reporter', file: 'junit-reporter', time: 0, status: 'fail', message: 'the reporter could not read some events', type: 'ReporterError', details: problems.join('\n\n') };
    out += renderSuite(st, [c]);
  }
  return `${out}</testsuites>\n`;
}
