package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// TerminalProgress shows live per-task progress on a terminal: a line per
// finished task and a status line naming the tasks still running. It
// draws with escape sequences of its own, so every string it is given is
// escaped first: none may add its own.
type TerminalProgress struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	done    int
	running map[string]time.Time
	stop    chan struct{} // closed by Close; nil before the first task
}

// NewTerminalProgress returns a Progress that draws on w, a terminal.
func NewTerminalProgress(w io.Writer, total int) *TerminalProgress {
	return &TerminalProgress{w: w, total: total, running: map[string]time.Time{}}
}

// Phase implements Progress.
func (p *TerminalProgress) Phase(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s...", escape.Line(msg))
}

// TaskStarted implements Progress.
func (p *TerminalProgress) TaskStarted(t *tasks.Task) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[t.ID] = time.Now()
	if p.stop == nil {
		// Redraw every second so the elapsed times stay live.
		p.stop = make(chan struct{})
		go p.tick(p.stop)
	}
	p.status()
}

func (p *TerminalProgress) tick(stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			if len(p.running) > 0 {
				p.status()
			}
			p.mu.Unlock()
		}
	}
}

// Close stops the live redraw and clears the status line.
func (p *TerminalProgress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	fmt.Fprint(p.w, "\r\033[K")
}

// TaskDone implements Progress.
func (p *TerminalProgress) TaskDone(r TaskGrade) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, r.ID)
	p.done++
	mark := "✗"
	if r.Status == Passed {
		mark = "✓"
	}
	fmt.Fprintf(p.w, "\r\033[K%s %-28s %-13s %g/%g  %s\n", mark, escape.Line(r.ID), r.Status, r.Points, r.Possible, r.Duration.Round(100*time.Millisecond))
	p.status()
}

// status redraws the status line. Called with p.mu held.
func (p *TerminalProgress) status() {
	if p.done == p.total {
		fmt.Fprint(p.w, "\r\033[K")
		return
	}
	ids := make([]string, 0, len(p.running))
	for id, start := range p.running {
		ids = append(ids, fmt.Sprintf("%s (%s)", id, time.Since(start).Round(time.Second)))
	}
	sort.Strings(ids)
	fmt.Fprintf(p.w, "\r\033[K[%d/%d] running: %s", p.done, p.total, escape.OneLine(strings.Join(ids, ", "), 60))
}
