package store

// applicationID marks an SQLite file as a store (PRAGMA application_id,
// bytes 68-71 of the file's header): "CMCG".
const applicationID = 0x434d4347

// migrations are the store's schema, in order: migrations[i] takes a store
// from schema version i to i+1. A migration, once released, never
// changes; a new shape is a new migration appended here. Open applies the
// missing ones in one transaction.
//
// Times are INTEGER nanoseconds since 1970 (UTC). Every table is STRICT,
// so a value of the wrong type is refused rather than stored.
var migrations = []string{
	// 1: the roster, the freeze, reports, task states, leases, the audit
	// log and proctors.
	`
CREATE TABLE schema_version (
	version    INTEGER PRIMARY KEY,
	applied_ns INTEGER NOT NULL
) STRICT;

-- The roster the candidates came from: one row.
CREATE TABLE roster (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	path     TEXT NOT NULL,
	digest   TEXT NOT NULL,
	saved_ns INTEGER NOT NULL
) STRICT;

-- One row per candidate of the roster, and where its grading stands.
CREATE TABLE candidates (
	id         TEXT PRIMARY KEY,
	ord        INTEGER NOT NULL UNIQUE, -- position in the roster
	line       INTEGER NOT NULL,
	repo       TEXT NOT NULL,
	branch     TEXT NOT NULL,
	form       TEXT NOT NULL,
	attempt    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	email      TEXT NOT NULL,
	state      TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'running', 'done', 'not-gradable', 'failed')),
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	updated_ns INTEGER NOT NULL
) STRICT;

-- The deadline freeze as written and signed: one row.
CREATE TABLE freeze (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	raw           BLOB NOT NULL,
	sig           BLOB,
	roster_digest TEXT NOT NULL,
	at_ns         INTEGER NOT NULL,
	saved_ns      INTEGER NOT NULL
) STRICT;

-- The freeze's commits, one per candidate whose branch was read.
CREATE TABLE frozen_commits (
	candidate  TEXT PRIMARY KEY REFERENCES candidates (id),
	repo       TEXT NOT NULL,
	branch     TEXT NOT NULL,
	commit_sha TEXT NOT NULL
) STRICT;

-- Every report saved, never changed: a regrade or a review adds a run.
CREATE TABLE reports (
	candidate   TEXT NOT NULL REFERENCES candidates (id),
	run         INTEGER NOT NULL CHECK (run > 0),
	kind        TEXT NOT NULL CHECK (kind IN ('graded', 'reviewed')),
	raw         BLOB NOT NULL,          -- the report file's exact bytes
	sig         BLOB,                   -- its signature file's, NULL if unsigned
	digest      TEXT NOT NULL,          -- sha256 of raw
	commit_sha  TEXT NOT NULL,
	verdict     TEXT NOT NULL,
	overall     REAL NOT NULL,
	finished_ns INTEGER NOT NULL,
	saved_ns    INTEGER NOT NULL,
	saved_by    TEXT NOT NULL,          -- the lease holder, or the proctor
	PRIMARY KEY (candidate, run)
) STRICT;
CREATE INDEX reports_commit ON reports (commit_sha);
CREATE INDEX reports_verdict ON reports (verdict);
CREATE INDEX reports_overall ON reports (overall);
CREATE INDEX reports_finished ON reports (finished_ns);
CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports
	BEGIN SELECT RAISE(ABORT, 'reports are never changed: save a new run'); END;
CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
	BEGIN SELECT RAISE(ABORT, 'reports are never deleted'); END;

-- Each task's state in the candidate's latest report.
CREATE TABLE task_states (
	candidate TEXT NOT NULL REFERENCES candidates (id),
	task      TEXT NOT NULL,
	pos       INTEGER NOT NULL,                         -- the task's place in the report
	run       INTEGER NOT NULL,
	exam      TEXT NOT NULL,
	status    TEXT NOT NULL,
	points    REAL NOT NULL,
	possible  REAL NOT NULL,
	held      INTEGER NOT NULL CHECK (held IN (0, 1)),  -- a hold awaits a decision
	decision  TEXT NOT NULL,                            -- accept or reject, once reviewed
	flaky     INTEGER NOT NULL CHECK (flaky IN (0, 1)),
	PRIMARY KEY (candidate, task),
	FOREIGN KEY (candidate, run) REFERENCES reports (candidate, run)
) STRICT;

-- Who grades a candidate now, and until when.
CREATE TABLE leases (
	candidate   TEXT PRIMARY KEY REFERENCES candidates (id),
	holder      TEXT NOT NULL,
	token       TEXT NOT NULL,
	acquired_ns INTEGER NOT NULL,
	expires_ns  INTEGER NOT NULL
) STRICT;

-- What proctors did, append-only.
CREATE TABLE audit (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	at_ns     INTEGER NOT NULL,
	proctor   TEXT NOT NULL,
	action    TEXT NOT NULL,
	candidate TEXT NOT NULL,
	task      TEXT NOT NULL,
	reason    TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Proctors and the SHA-256 of their tokens; a token itself is never stored.
CREATE TABLE proctors (
	name         TEXT PRIMARY KEY,
	token_sha256 BLOB NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	added_ns     INTEGER NOT NULL
) STRICT;
`,
	// 2: webhook deliveries and the push queue.
	`
-- Every webhook delivery received, by GitHub's delivery id, so that a
-- redelivery is recognised after a restart.
CREATE TABLE deliveries (
	id          TEXT PRIMARY KEY,
	event       TEXT NOT NULL,
	received_ns INTEGER NOT NULL,
	outcome     TEXT NOT NULL DEFAULT '' -- '' while the delivery is handled
) STRICT;

-- Pushes to candidates' exam branches, to grade in the order received.
CREATE TABLE pushes (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	candidate   TEXT NOT NULL REFERENCES candidates (id),
	commit_sha  TEXT NOT NULL,
	received_ns INTEGER NOT NULL,
	state       TEXT NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'done', 'superseded', 'late')),
	holder      TEXT NOT NULL DEFAULT '',
	token       TEXT NOT NULL DEFAULT '',
	expires_ns  INTEGER NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	updated_ns  INTEGER NOT NULL
) STRICT;
CREATE INDEX pushes_candidate ON pushes (candidate, state);
CREATE INDEX pushes_state ON pushes (state);
`,
	// 3: results waiting to be published to GitHub.
	`
-- Completed results that could not be published to the candidate's
-- commit, for publish --pending to retry. view is the candidate view's
-- JSON: what GitHub may show, nothing more.
CREATE TABLE pending_publishes (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	candidate   TEXT NOT NULL,
	repo        TEXT NOT NULL,
	commit_sha  TEXT NOT NULL,
	view        BLOB NOT NULL,
	state       TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'published', 'superseded')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	added_ns    INTEGER NOT NULL,
	updated_ns  INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_publishes_state ON pending_publishes (state);
`,
	// 4: a push that can never be graded ends failed, with its last error.
	// SQLite changes no CHECK in place: the table is made again.
	`
CREATE TABLE pushes_v4 (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	candidate   TEXT NOT NULL REFERENCES candidates (id),
	commit_sha  TEXT NOT NULL,
	received_ns INTEGER NOT NULL,
	state       TEXT NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'done', 'superseded', 'late', 'failed')),
	holder      TEXT NOT NULL DEFAULT '',
	token       TEXT NOT NULL DEFAULT '',
	expires_ns  INTEGER NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '', -- why a failed push was given up
	updated_ns  INTEGER NOT NULL
) STRICT;
INSERT INTO pushes_v4 (id, candidate, commit_sha, received_ns, state, holder, token, expires_ns, attempts, updated_ns)
	SELECT id, candidate, commit_sha, received_ns, state, holder, token, expires_ns, attempts, updated_ns FROM pushes;
DROP TABLE pushes;
ALTER TABLE pushes_v4 RENAME TO pushes;
CREATE INDEX pushes_candidate ON pushes (candidate, state);
CREATE INDEX pushes_state ON pushes (state);
`,
}
