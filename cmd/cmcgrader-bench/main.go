// Command cmcgrader-bench measures the grader on the sample bank and on a
// generated Meshery-size repository, and prints a Markdown table of the
// figures and their ratios (see package bench). It needs the Docker
// engine, the base sandbox image (make image), git, and the Go module
// proxy for the generated repository's modules. make bench runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	work := flag.String("work", "build/bench", "scratch folder (regenerated inputs live here)")
	binary := flag.String("binary", "bin/cmcgrader", "the cmcgrader binary to measure")
	sample := flag.String("sample", "testdata/sample", "the sample fixture folder")
	files := flag.Int("files", bench.DefaultGenConfig.Files, "files of the generated repository")
	commits := flag.Int("commits", bench.DefaultGenConfig.Commits, "commits of the generated repository")
	out := flag.String("out", "", "also write the table to this file")
	keep := flag.Bool("keep", false, "reuse the generated inputs of an earlier run in -work")
	flag.Parse()

	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.InfoLevel)
	log := logrus.NewEntry(l)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := measure(ctx, log, *work, *binary, *sample, *out, *keep, bench.GenConfig{Files: *files, Commits: *commits}); err != nil {
		fmt.Fprintf(os.Stderr, "cmcgrader-bench: %v\n", err)
		return 1
	}
	return 0
}

func measure(ctx context.Context, log *logrus.Entry, work, binary, sample, out string, keep bool, gen bench.GenConfig) error {
	work, err := filepath.Abs(work)
	if err != nil {
		return err
	}
	if binary, err = filepath.Abs(binary); err != nil {
		return err
	}
	inputs := filepath.Join(work, "inputs")
	if err := os.RemoveAll(filepath.Join(work, "runs")); err != nil {
		return err
	}
	if !keep {
		if err := os.RemoveAll(inputs); err != nil {
			return err
		}
	}
	// A go.mod of its own keeps the generated Go files out of the
	// project's ./... patterns.
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte("module cmcgrader.invalid/benchscratch\n\ngo 1.26\n"), 0o644); err != nil {
		return err
	}
	// The sample: mkrepo.sh builds the fork; its main branch is the upstream.
	repos := filepath.Join(inputs, "sample", "repos")
	if err := os.RemoveAll(repos); err != nil {
		return err
	}
	fork, upstream := filepath.Join(repos, "fork.git"), filepath.Join(repos, "upstream.git")
	mk := exec.CommandContext(ctx, "sh", filepath.Join(sample, "mkrepo.sh"), fork)
	if b, err := mk.CombinedOutput(); err != nil {
		return fmt.Errorf("mkrepo.sh: %w\n%s", err, b)
	}
	clone := exec.CommandContext(ctx, "git", "clone", "-q", "--bare", "--single-branch", "--branch", "main", fork, upstream)
	if b, err := clone.CombinedOutput(); err != nil {
		return fmt.Errorf("clone the sample upstream: %w\n%s", err, b)
	}
	log.WithFields(logrus.Fields{"files": gen.Files, "commits": gen.Commits}).Info("generating the Meshery-size repository")
	gdir := filepath.Join(inputs, "meshery-size")
	g := &bench.Generated{Upstream: filepath.Join(gdir, "repos", "upstream.git"), Fork: filepath.Join(gdir, "repos", "fork.git"), Bank: filepath.Join(gdir, "bank")}
	if _, err := os.Stat(g.Bank); !keep || err != nil {
		if err := os.RemoveAll(gdir); err != nil {
			return err
		}
		if g, err = bench.Generate(ctx, gdir, "go", gen); err != nil {
			return err
		}
	}
	ins := []bench.Input{
		{Name: "sample", Bank: filepath.Join(sample, "bank"), Upstream: upstream, Fork: fork, BaseRef: "main", Branch: "candidate/reference", Throughput: true},
		{Name: "meshery-size", Bank: g.Bank, Upstream: g.Upstream, Fork: g.Fork, BaseRef: "main", Branch: "candidate"},
	}
	res, err := bench.Run(ctx, bench.Config{Binary: binary, Work: filepath.Join(work, "runs"), Log: log}, ins)
	if err != nil {
		return err
	}
	if out == "" {
		return res.WriteTable(os.Stdout)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := res.WriteTable(io.MultiWriter(os.Stdout, f)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
