package githubtest

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/google/go-github/v66/github"
)

// GitHub's limits and vocabularies for check runs and statuses.
const (
	maxSummary     = 65535
	maxDescription = 140
)

var (
	fullSHA     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	runStatuses = []string{"queued", "in_progress", "completed"}
	conclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
	states      = []string{"error", "failure", "pending", "success"}
)

// checkRunShape checks what a create or an update of a check run sets.
func checkRunShape(status, conclusion *string, completed *github.Timestamp, out *github.CheckRunOutput, details *string) *apiError {
	switch {
	case status != nil && !slices.Contains(runStatuses, *status):
		return fail(http.StatusUnprocessableEntity, "Invalid request: status %q is not one of %v", *status, runStatuses)
	case conclusion != nil && !slices.Contains(conclusions, *conclusion):
		return fail(http.StatusUnprocessableEntity, "Invalid request: conclusion %q is not one of %v", *conclusion, conclusions)
	case status != nil && *status == "completed" && conclusion == nil:
		return fail(http.StatusUnprocessableEntity, "Invalid request: a completed check run needs a conclusion")
	case conclusion != nil && status != nil && *status != "completed":
		return fail(http.StatusUnprocessableEntity, "Invalid request: a conclusion needs status completed")
	case conclusion != nil && completed == nil:
		return fail(http.StatusUnprocessableEntity, "Invalid request: a conclusion needs completed_at")
	}
	if details != nil {
		if u, err := url.Parse(*details); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fail(http.StatusUnprocessableEntity, "Invalid request: details_url %q is not a URL", *details)
		}
	}
	if out != nil {
		if out.Title == nil || *out.Title == "" || out.Summary == nil || *out.Summary == "" {
			return fail(http.StatusUnprocessableEntity, "Invalid request: output needs a title and a summary")
		}
		for name, s := range map[string]*string{"summary": out.Summary, "text": out.Text} {
			if s != nil && utf8.RuneCountInString(*s) > maxSummary {
				return fail(http.StatusUnprocessableEntity, "Invalid request: output.%s is longer than %d characters", name, maxSummary)
			}
		}
	}
	return nil
}

func (s *Server) createCheckRun(repo string, body []byte) (int, any, *apiError) {
	var o github.CreateCheckRunOptions
	if err := decode(body, &o); err != nil {
		return 0, nil, err
	}
	if o.Name == "" {
		return 0, nil, fail(http.StatusUnprocessableEntity, "Invalid request: name is required")
	}
	if !fullSHA.MatchString(o.HeadSHA) {
		return 0, nil, fail(http.StatusUnprocessableEntity, "Invalid request: head_sha %q is not a commit SHA", o.HeadSHA)
	}
	if err := checkRunShape(o.Status, o.Conclusion, o.CompletedAt, o.Output, o.DetailsURL); err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := int64(len(s.runs) + 1)
	run := &CheckRun{Repo: repo, CheckRun: github.CheckRun{
		ID: github.Int64(id), Name: github.String(o.Name), HeadSHA: github.String(o.HeadSHA),
		ExternalID: o.ExternalID, DetailsURL: o.DetailsURL, Status: o.Status, Conclusion: o.Conclusion,
		CompletedAt: o.CompletedAt, Output: o.Output, App: &github.App{ID: github.Int64(s.AppID)},
	}}
	if run.Status == nil {
		run.Status = github.String("queued")
	}
	s.runs = append(s.runs, run)
	return http.StatusCreated, &run.CheckRun, nil
}

func (s *Server) updateCheckRun(repo, idText string, body []byte) (int, any, *apiError) {
	var o github.UpdateCheckRunOptions
	if err := decode(body, &o); err != nil {
		return 0, nil, err
	}
	if err := checkRunShape(o.Status, o.Conclusion, o.CompletedAt, o.Output, o.DetailsURL); err != nil {
		return 0, nil, err
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > int64(len(s.runs)) || s.runs[id-1].Repo != repo {
		return 0, nil, fail(http.StatusNotFound, "Not Found")
	}
	run := s.runs[id-1]
	if run.GetStatus() == "completed" && o.Status != nil && *o.Status != "completed" {
		return 0, nil, fail(http.StatusUnprocessableEntity, "Invalid request: a completed check run cannot go back to %s", *o.Status)
	}
	if o.Name != "" {
		run.Name = github.String(o.Name)
	}
	for _, f := range []struct{ dst, src **string }{{&run.ExternalID, &o.ExternalID}, {&run.DetailsURL, &o.DetailsURL}, {&run.Status, &o.Status}, {&run.Conclusion, &o.Conclusion}} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	if o.CompletedAt != nil {
		run.CompletedAt = o.CompletedAt
	}
	if o.Output != nil {
		run.Output = o.Output
	}
	return http.StatusOK, &run.CheckRun, nil
}

func (s *Server) listCheckRuns(repo, ref string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &github.ListCheckRunsResults{CheckRuns: []*github.CheckRun{}}
	for _, r := range s.runs {
		if r.Repo == repo && r.GetHeadSHA() == ref {
			c := r.CheckRun
			res.CheckRuns = append(res.CheckRuns, &c)
		}
	}
	res.Total = github.Int(len(res.CheckRuns))
	return http.StatusOK, res, nil
}

func (s *Server) createStatus(repo, sha string, body []byte) (int, any, *apiError) {
	var st github.RepoStatus
	if err := decode(body, &st); err != nil {
		return 0, nil, err
	}
	switch {
	case !fullSHA.MatchString(sha):
		return 0, nil, fail(http.StatusUnprocessableEntity, "No commit found for SHA: %s", sha)
	case st.State == nil || !slices.Contains(states, *st.State):
		return 0, nil, fail(http.StatusUnprocessableEntity, "Invalid request: state must be one of %v", states)
	case st.Description != nil && utf8.RuneCountInString(*st.Description) > maxDescription:
		return 0, nil, fail(http.StatusUnprocessableEntity, "Invalid request: description is longer than %d characters", maxDescription)
	case st.ID != nil || st.Creator != nil || st.CreatedAt != nil || st.URL != nil:
		return 0, nil, fail(http.StatusUnprocessableEntity, "Invalid request: only state, target_url, description and context may be set")
	}
	if st.TargetURL != nil {
		if u, err := url.Parse(*st.TargetURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return 0, nil, fail(http.StatusUnprocessableEntity, "Invalid request: target_url %q is not a URL", *st.TargetURL)
		}
	}
	if st.Context == nil {
		st.Context = github.String("default")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.ID = github.Int64(int64(len(s.statuses) + 1))
	s.statuses = append(s.statuses, Status{Repo: repo, SHA: sha, RepoStatus: st})
	return http.StatusCreated, &st, nil
}
