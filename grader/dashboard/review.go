package dashboard

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

// review records a proctor's decision on a held task. The form gives the
// candidate, the digest of the report the proctor read, the task, the
// decision (accept or reject), the reason, and the page to go back to
// (back: "queue" or "candidate").
//
// The decision applies to the candidate's latest report only if it is the
// report the proctor read. A signed report must verify with the
// dashboard's key, and is signed again with it; without a key it is not
// reviewed. The reviewed report and the audit entry naming the proctor are
// saved in one transaction.
func (d *Dashboard) review(w http.ResponseWriter, r *http.Request) {
	proctor := callerOf(r).Proctor
	candidate := r.PostFormValue("candidate")
	task := r.PostFormValue("task")
	decision := report.Decision(r.PostFormValue("decision"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	back := "/candidate?" + url.Values{"id": {candidate}}.Encode()
	if r.PostFormValue("back") == "queue" {
		back = "/queue"
	}
	switch {
	case candidate == "" || task == "":
		d.failBack(w, r, http.StatusBadRequest, "The form names no candidate or no task.", back)
		return
	case decision != report.Accept && decision != report.Reject:
		d.failBack(w, r, http.StatusBadRequest, "Choose accept or reject.", back)
		return
	case reason == "":
		d.failBack(w, r, http.StatusBadRequest, "Give the reason for the decision: it is kept in the report and the audit log.", back)
		return
	case len(reason) > maxReasonBytes || !utf8.ValidString(reason):
		d.failBack(w, r, http.StatusBadRequest, "The reason must be UTF-8 text of at most 2000 bytes.", back)
		return
	}
	log := d.log.WithField("proctor", proctor).WithField("candidate", candidate).WithField("task", task)

	raw, sig, rep, err := d.st.Report(r.Context(), candidate)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d.failBack(w, r, http.StatusNotFound, "The candidate has no report to review.", back)
		return
	case err != nil:
		d.storeFailed(w, r, err)
		return
	}
	if got := r.PostFormValue("digest"); !equal(got, digestOf(raw)) {
		d.failBack(w, r, http.StatusConflict, "Not recorded: the candidate's report changed since you opened the page "+
			"(another proctor reviewed it, or it was graded again). Read the latest report and decide again.", back)
		return
	}
	var key ed25519.PrivateKey
	if sig != nil {
		if d.key == nil {
			d.failBack(w, r, http.StatusConflict, "Not recorded: this report is signed, and the dashboard has no key to sign the decision. "+
				"Start cmcgrader serve with the grader's --sign-key to review it.", back)
			return
		}
		// The report must be the grader's, unchanged, before it is
		// changed and signed again.
		if _, err := report.VerifyReport(raw, sig, d.key.Public().(ed25519.PublicKey)); err != nil {
			log.WithError(err).Warn("a stored report does not verify with the dashboard's key")
			d.failBack(w, r, http.StatusConflict, "Not recorded: the report's signature does not verify with the dashboard's key "+
				"(signed by another key, or changed). The review would vouch for it; check the store.", back)
			return
		}
		key = d.key
	}
	if err := rep.Review(task, decision, reason, d.now()); err != nil {
		d.failBack(w, r, http.StatusConflict, "Not recorded: "+err.Error(), back)
		return
	}
	data, newSig, err := report.Encode(rep, key)
	if err != nil {
		log.WithError(err).Error("encode a reviewed report")
		d.fail(w, r, http.StatusInternalServerError, "The reviewed report could not be written; the server's log says why.")
		return
	}
	err = d.st.ReplaceReport(r.Context(), store.Replacement{
		Candidate: candidate, Previous: raw, Report: rep, Raw: data, Sig: newSig,
		Audit: store.Entry{Proctor: proctor, Action: string(decision), Task: task, Reason: reason},
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		d.failBack(w, r, http.StatusConflict, "Not recorded: the candidate's report changed while you decided "+
			"(another proctor reviewed it, or it was graded again). Read the latest report and decide again.", back)
		return
	case errors.Is(err, store.ErrLeased):
		d.failBack(w, r, http.StatusConflict, "Not recorded: the candidate is being graded again right now. "+
			"Decide on the new report once grading ends.", back)
		return
	case err != nil:
		log.WithError(err).Error("save a reviewed report")
		d.fail(w, r, http.StatusInternalServerError, "The decision could not be saved; the server's log says why.")
		return
	}
	log.WithField("decision", decision).Info("task reviewed")
	http.Redirect(w, r, back, http.StatusSeeOther)
}
