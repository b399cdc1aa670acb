package protocol

import (
	"bytes"
	"io"
	"time"
)

// Preamble passes what a stream carries after a marker to next and keeps
// what came before it (up to keepMax bytes). The supervisor prints the
// marker (ReadyMarker) to stderr right before it starts the command, so
// the candidate can neither forge nor hide the end of the setup: its
// output comes after.
type Preamble struct {
	marker  []byte
	next    io.Writer
	keepMax int
	found   bool
	foundAt time.Time // when the marker was seen
	kept    []byte    // pre-marker bytes, capped at keepMax
	pending []byte    // last len(marker)-1 unmatched bytes, may start a marker
}

// NewPreamble returns a Preamble looking for marker, passing what follows
// it to next and keeping keepMax bytes of what comes before it.
func NewPreamble(marker string, next io.Writer, keepMax int) *Preamble {
	return &Preamble{marker: []byte(marker), next: next, keepMax: keepMax}
}

// Write forwards p to next once the marker was seen.
func (w *Preamble) Write(p []byte) (int, error) {
	n := len(p)
	if w.found {
		_, err := w.next.Write(p)
		return n, err
	}
	data := append(w.pending, p...)
	w.pending = nil
	if i := bytes.Index(data, w.marker); i >= 0 {
		w.keep(data[:i])
		w.found, w.foundAt = true, time.Now()
		_, err := w.next.Write(data[i+len(w.marker):])
		return n, err
	}
	k := max(len(data)-(len(w.marker)-1), 0)
	w.keep(data[:k])
	w.pending = append([]byte(nil), data[k:]...)
	return n, nil
}

func (w *Preamble) keep(b []byte) {
	if room := w.keepMax - len(w.kept); room > 0 {
		w.kept = append(w.kept, b[:min(room, len(b))]...)
	}
}

// Found says whether the marker was seen, and when.
func (w *Preamble) Found() (bool, time.Time) { return w.found, w.foundAt }

// Before returns the bytes seen before the marker (all of them when the
// marker never came), capped at keepMax.
func (w *Preamble) Before() []byte {
	out := append([]byte(nil), w.kept...)
	if !w.found {
		out = append(out, w.pending[:min(len(w.pending), max(w.keepMax-len(out), 0))]...)
	}
	return out
}
