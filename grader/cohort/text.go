package cohort

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cmcgrader/cmcgrader/internal/escape"
)

// WriteText writes the item analysis for a terminal: the cohort's
// verdicts, a table of the exams (pass rate, mean, the distribution's ten
// bins) and a table of the tasks (graded, pass rate, mean points,
// discrimination, flags), then what the flags mean. Names from reports
// are escaped (see package escape).
func WriteText(w io.Writer, a *Analysis) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Cohort: %d candidate(s), %d graded: %d PASS, %d FAIL, %d INCOMPLETE\n\n",
		a.Candidates, a.Graded, a.Certified, a.Failed, a.Incomplete)

	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EXAM\tDECIDED\tPASS RATE\tMEAN\tINCOMPLETE\tDISTRIBUTION (0-9%, 10-19%, ..., 90-100%)")
	for _, es := range a.Exams {
		passRate, mean := "-", "-"
		if es.Decided > 0 {
			passRate, mean = rate(es.PassRate), strconv.FormatFloat(es.MeanPercent, 'f', 1, 64)+"%"
		}
		bins := make([]string, len(es.Histogram))
		for i, n := range es.Histogram {
			bins[i] = strconv.Itoa(n)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", escape.Line(es.Name), es.Decided, passRate, mean, es.Incomplete, strings.Join(bins, " "))
	}
	tw.Flush()
	fmt.Fprintln(bw)

	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tEXAM\tGRADED\tEXCLUDED\tPASS RATE\tMEAN POINTS\tDISCRIMINATION\tFLAGS")
	for _, ts := range a.Tasks {
		passRate, mean, disc := "-", "-", "-"
		if ts.Graded > 0 {
			passRate = rate(ts.PassRate)
			mean = number(ts.MeanPoints) + "/" + number(ts.Possible)
		}
		if ts.Discrimination != nil {
			disc = strconv.FormatFloat(*ts.Discrimination, 'f', 2, 64)
		}
		flags := "-"
		if len(ts.Flags) > 0 {
			names := make([]string, len(ts.Flags))
			for i, f := range ts.Flags {
				names[i] = string(f)
			}
			flags = strings.Join(names, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", escape.Line(ts.ID), escape.Line(ts.Exam),
			ts.Graded, ts.Excluded, passRate, mean, disc, flags)
	}
	tw.Flush()

	fmt.Fprintf(bw, "\nFlags: %s fewer than %d graded (no other flag); %s pass rate above %s; %s below %s;\n",
		FlagTooFew, MinCandidates, FlagTooEasy, rate(EasyAbove), FlagTooHard, rate(HardBelow))
	fmt.Fprintf(bw, "%s discrimination below 0; %s below %s; %s discrimination undefined (no spread in the scores).\n",
		FlagNegative, FlagLow, number(LowDiscrimination), FlagNoSpread)
	return bw.Flush()
}
