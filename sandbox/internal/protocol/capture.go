package protocol

import (
	"bytes"
	"fmt"
	"io"
	"time"
)

// Capture is an io.Writer that keeps the first and the last bytes of what
// it is given and drops the middle, so that memory stays bounded however
// much a sandbox writes. It never returns an error: the writer on the other
// side must keep flowing so the container never blocks on a full pipe.
type Capture struct {
	headMax int    // bytes kept from the start
	tailMax int    // bytes kept from the end
	head    []byte // first headMax bytes
	tail    []byte // ring of the last tailMax bytes once full
	pos     int    // next write index in tail once len(tail) == tailMax
	total   int64  // bytes written in all
}

// NewCapture returns a Capture keeping limit bytes at most: limit/2 from
// the head and the rest from the tail. limit must be > 0.
func NewCapture(limit int64) *Capture {
	h := limit / 2
	return &Capture{headMax: int(h), tailMax: int(limit - h)}
}

// Write keeps p's bytes as head or tail. It always succeeds.
func (c *Capture) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)
	if room := c.headMax - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	if c.tailMax == 0 || len(p) == 0 {
		return n, nil
	}
	if len(p) >= c.tailMax {
		// p alone fills the ring: keep its end, start the ring over.
		c.tail = append(c.tail[:0], p[len(p)-c.tailMax:]...)
		c.pos = 0
		return n, nil
	}
	if room := c.tailMax - len(c.tail); room > 0 {
		// The ring is still filling (grows on demand, up to tailMax).
		k := min(room, len(p))
		c.tail = append(c.tail, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		k := copy(c.tail[c.pos:], p)
		p = p[k:]
		c.pos = (c.pos + k) % c.tailMax
	}
	return n, nil
}

// Truncated says whether bytes were dropped.
func (c *Capture) Truncated() bool {
	return c.total > int64(len(c.head)+len(c.tail))
}

// Bytes returns what was kept: everything when nothing was dropped, else
// the head, a marker line saying how many bytes were dropped, and the tail.
func (c *Capture) Bytes() []byte {
	dropped := c.total - int64(len(c.head)+len(c.tail))
	var marker string
	if dropped > 0 {
		marker = fmt.Sprintf("\n... [cmcgrader: %d bytes truncated] ...\n", dropped)
	}
	out := make([]byte, 0, len(c.head)+len(marker)+len(c.tail))
	out = append(out, c.head...)
	out = append(out, marker...)
	out = append(out, c.tail[c.pos:]...)
	out = append(out, c.tail[:c.pos]...)
	return out
}

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
