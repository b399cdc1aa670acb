package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

//go:embed templates
var templateFiles embed.FS

// page is what every page's template gets: the layout's fields, and the
// page's own data.
type page struct {
	Title string
	// Nav names the page's entry in the navigation bar.
	Nav string
	// Proctor is who is logged in; "" on the pages before a login.
	Proctor string
	// CSRF is the token the page's forms carry.
	CSRF string
	Data any
}

// funcs are the template functions. Every string that comes from a report,
// the roster or a proctor is shown through line or para: the characters
// a terminal would act on, and the invisible and bidirectional ones, show
// as escapes; html/template then escapes the result for its place in the
// page.
var funcs = template.FuncMap{
	"line": escape.Line,
	"para": escape.Block,
	"reviewForm": func(csrf, candidate, digest, task, back string) reviewForm {
		return reviewForm{CSRF: csrf, Candidate: candidate, Digest: digest, Task: task, Back: back}
	},
	"short": escape.Short,
	"num":   func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"pct":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"verdictClass": func(v report.Verdict) string {
		switch v {
		case report.Pass:
			return "pass"
		case report.Fail:
			return "fail"
		case report.Incomplete:
			return "incomplete"
		}
		return "none"
	},
}

// reviewForm is what the form of a decision on a held task carries.
type reviewForm struct {
	CSRF, Candidate, Digest, Task, Back string
}

// pages are the templates of the pages, each with the layout.
var pages = func() map[string]*template.Template {
	layout := template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFiles, "templates/layout.tmpl"))
	m := map[string]*template.Template{}
	for _, name := range []string{"login", "unauthorized", "error", "cohort", "candidate", "queue", "audit", "analysis"} {
		m[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+name+".tmpl"))
	}
	return m
}()

// render writes page p with the template name and status. The page is
// rendered whole before anything is sent, so that a failure is a clean
// error.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if c := callerOf(r); c.Proctor != "" {
		p.Proctor = c.Proctor
		if c.Session != nil && p.CSRF == "" {
			p.CSRF = c.Session.csrf
		}
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout.tmpl", p); err != nil {
		d.log.WithError(err).WithField("page", name).Error("render a page")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// problem is what the error page shows.
type problem struct {
	Status  string
	Message string
	// Back links to the page to go back to, if any.
	Back string
}

// fail shows the error page with status and message.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	d.failBack(w, r, status, message, "")
}

func (d *Dashboard) failBack(w http.ResponseWriter, r *http.Request, status int, message, back string) {
	d.render(w, r, status, "error", page{
		Title: http.StatusText(status),
		Data:  problem{Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Message: message, Back: back},
	})
}

// storeFailed shows that the store could not be read, and logs why.
func (d *Dashboard) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	d.log.WithError(err).WithField("path", r.URL.Path).Error("read the store")
	d.fail(w, r, http.StatusInternalServerError, "The results store could not be read; the server's log says why.")
}
