package cohort

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// walk calls f on every node of the tree under n.
func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// text is the text of the nodes under n.
func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func TestWriteHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sampleCohort(), ExportOptions{Bank: sampleBank()}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "cohort.html", buf.Bytes())
	out := buf.String()

	// Nothing of the candidates' data became markup: no script, no
	// event handler, no link or resource to fetch; the hostile strings
	// are text, their bidi override shown as an escape.
	for _, bad := range []string{"<script", "\u202e", "\x1b", "Alice", "alice@"} {
		if strings.Contains(out, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		counts[n.Data]++
		switch n.Data {
		case "script", "iframe", "object", "embed", "link", "img", "a", "form", "base":
			t.Errorf("the page has a <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			switch {
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s> has an event handler %s=%q", n.Data, a.Key, a.Val)
			case a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "style":
				t.Errorf("<%s> has %s=%q", n.Data, a.Key, a.Val)
			case a.Key == "xmlns" && a.Val != "http://www.w3.org/2000/svg":
				t.Errorf("<%s> has xmlns=%q", n.Data, a.Val)
			}
		}
	})
	if counts["svg"] != 2 || counts["rect"] != 20 || counts["style"] != 1 {
		t.Errorf("want 2 histograms of 10 bars and one style sheet; got %d svg, %d rect, %d style", counts["svg"], counts["rect"], counts["style"])
	}
	body := text(doc)
	for _, want := range []string{scriptID, hostileID, "too-few"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page's text lacks %q", want)
		}
	}

	// The tables: a row per candidate, a row per task.
	var rows []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			rows = append(rows, n)
		}
	})
	if want := 1 + 6 + 1 + 4; len(rows) != want {
		t.Errorf("%d table rows, want %d", len(rows), want)
	}
	for i, want := range []string{"cmc-0001", hostileID, scriptID, "cmc-0004", "cmc-0005", "cmc-0006"} {
		if got := text(rows[1+i]); !strings.HasPrefix(got, want) {
			t.Errorf("row %d starts %q, want %q", i+1, got, want)
		}
	}
	if got := text(rows[5]); !strings.Contains(got, "not graded") {
		t.Errorf("the row of a candidate without a report: %q", got)
	}

	buf.Reset()
	if err := WriteHTML(&buf, sampleCohort(), ExportOptions{IncludePersonal: true}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "Alice Example") || !strings.Contains(out, `&#34;quoted&#34; &#39;name&#39; \u202egnp.exe`) {
		t.Error("with personal data the page lacks the names, or shows them unescaped")
	}
}

func TestHistogram(t *testing.T) {
	h := histogram(ExamStats{Name: "server", Threshold: 70, Decided: 5, Histogram: [10]int{1, 0, 0, 0, 0, 0, 0, 2, 0, 4}})
	if h.Mark != histLeft+7*histSlot {
		t.Errorf("the pass mark is at x %d, want %d", h.Mark, histLeft+7*histSlot)
	}
	for i, want := range []int{20, 0, 0, 0, 0, 0, 0, 40, 0, 80} {
		if b := h.Bars[i]; b.H != want || b.Y+b.H != histBase {
			t.Errorf("bar %d: height %d at y %d, want %d standing on the axis", i, b.H, b.Y, want)
		}
	}
	// A bin of one among hundreds is still seen.
	h = histogram(ExamStats{Histogram: [10]int{1, 0, 0, 0, 0, 0, 0, 0, 0, 500}})
	if h.Bars[0].H != 2 {
		t.Errorf("a bin of one is %d high, want 2", h.Bars[0].H)
	}
	if h = histogram(ExamStats{}); h.Bars[0].H != 0 {
		t.Error("an empty histogram has a bar")
	}
}

// TestAnalysisHTML renders the item analysis alone, as the page has it.
func TestAnalysisHTML(t *testing.T) {
	entries, opts := sampleCohort(), ExportOptions{Bank: sampleBank()}
	frag, err := AnalysisHTML(Analyse(opts.Bank, entries))
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, entries, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(frag), "<h2>Exams</h2>") || strings.Contains(string(frag), "<html") {
		t.Errorf("the fragment is not the analysis alone:\n%.200s", frag)
	}
	if !strings.Contains(page.String(), string(frag)) {
		t.Error("the page does not hold the fragment as AnalysisHTML renders it")
	}
}
