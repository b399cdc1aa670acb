// Package system holds `mesheryctl system`: the commands that look after a
// Meshery deployment.
package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"
)

var (
	// ErrNotHealthy is wrapped when a component is not running.
	ErrNotHealthy = errors.New("meshery is not healthy")

	errNotImplemented = errors.New("not implemented")
)

// Component is one part of a Meshery deployment.
type Component struct {
	// Name is the component's name, e.g. "meshery-server".
	Name string `json:"name"`
	// Status is "running" when healthy, anything else otherwise.
	Status string `json:"status"`
	// Version is the component's release.
	Version string `json:"version"`
}

// StatusSource reports the state of a Meshery deployment.
type StatusSource interface {
	Status(ctx context.Context) ([]Component, error)
}

// HTTPSource asks a Meshery server for its status.
type HTTPSource struct {
	// BaseURL is the server's address, e.g. "http://localhost:9081".
	BaseURL string
	// Client sends the request; nil means http.DefaultClient.
	Client *http.Client
}

// Status implements StatusSource.
func (s HTTPSource) Status(ctx context.Context) ([]Component, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/api/system/status", nil)
	if err != nil {
		return nil, err
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status: server answered %s", resp.Status)
	}
	var out []Component
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("decode status: %w", err)
	}
	return out, nil
}

// NewSystemCmd returns `mesheryctl system`, reading state from src.
func NewSystemCmd(src StatusSource) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Look after a Meshery deployment",
	}
	cmd.AddCommand(newCheckCmd(src), NewStatusCmd(src))
	return cmd
}

func newCheckCmd(src StatusSource) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check that Meshery answers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			comps, err := src.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("meshery is not reachable: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Meshery is reachable (%d components)\n", len(comps))
			return nil
		},
	}
}
