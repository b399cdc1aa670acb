// Package escape makes untrusted text safe to print on a terminal or to
// write to a text file read on one. Reasons, test names, test and compiler
// output and file names all come from a candidate's code and repository;
// printed raw, an ESC or a bidirectional override in them could erase a
// line of the report and draw a fake score in its place.
//
// Every character that a terminal would act on or that is invisible is
// written as a visible escape instead: C0 controls, DEL and C1 controls
// (\x1b, \r, \u009b), so no ANSI or OSC sequence can start; Unicode format
// characters, which include every bidirectional override, isolate and mark
// (\u202e, \u2066, \u200f, \u061c); the line and paragraph separators
// (\u2028, \u2029); and bytes that are not UTF-8 (\xff). Nothing is dropped,
// so the proctor sees that something was there. A backslash is left as it
// is, so text that spells an escape reads the same as an escaped character;
// it is only text.
//
// Line is for one-line fields, Block for multi-line text that keeps its
// newlines and tabs, JSON for encoding/json output read on a terminal:
//
//	fmt.Fprintf(w, "  %s\t%s\n", escape.Line(t.ID), escape.Line(t.Reason))
//	fmt.Fprintf(stderr, "cmcgrader: %s\n", escape.Block(err.Error()))
package escape
