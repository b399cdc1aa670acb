package batch

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

// Counter is a Progress that writes a line per finished candidate and,
// on a terminal, keeps a status line under them: graded of total,
// failed, not gradable, running, and the time left at the pace so far.
// Every candidate-derived string is escaped.
type Counter struct {
	mu       sync.Mutex
	w        io.Writer
	live     bool // redraw a status line (a terminal)
	total    int  // candidates left to grade when the run started
	started  time.Time
	running  int
	done     int
	failed   int
	notGrad  int
	finished int // attempts ended, for the pace
	now      func() time.Time
}

// NewCounter returns a Counter writing to w for total candidates to
// grade; live redraws a status line (w is a terminal).
func NewCounter(w io.Writer, total int, live bool) *Counter {
	return &Counter{w: w, total: total, live: live, started: time.Now(), now: time.Now}
}

// Started implements Progress.
func (p *Counter) Started(c cohort.Candidate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running++
	p.status()
}

// Done implements Progress.
func (p *Counter) Done(c cohort.Candidate, state store.State, rep *report.Report, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running--
	p.finished++
	line := fmt.Sprintf("%s: %s", escape.Line(c.ID), state)
	switch state {
	case store.Done:
		p.done++
		line += fmt.Sprintf(", %s %.1f%%", rep.Verdict, rep.Overall)
	case store.Failed:
		p.failed++
		line += ": " + escape.OneLine(err.Error(), 160)
	case store.NotGradable:
		p.notGrad++
		line += " (will be retried): " + escape.OneLine(err.Error(), 160)
	}
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, line)
	p.status()
}

// Close ends the status line.
func (p *Counter) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// Line is the status: "3/8 graded, 1 failed, 0 not gradable, 2 running,
// about 2m10s left".
func (p *Counter) Line() string {
	s := fmt.Sprintf("%d/%d graded, %d failed, %d not gradable, %d running", p.done, p.total, p.failed, p.notGrad, p.running)
	if left := p.total - p.done - p.failed; p.done+p.failed > 0 && left > 0 {
		per := p.now().Sub(p.started) / time.Duration(p.done+p.failed)
		s += fmt.Sprintf(", about %s left", (per * time.Duration(left)).Round(time.Second))
	}
	return s
}

func (p *Counter) status() {
	if p.live {
		fmt.Fprintf(p.w, "\r\033[K%s", p.Line())
	}
}
