package tasks

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// Names of a bank's files and folders.
const (
	bankFile      = "bank.yaml"
	tasksDir      = "tasks"
	specFile      = "task.yaml"
	hiddenDir     = "hidden"
	referenceFile = "reference.patch"
	statementFile = "statement.md"
)

// Defaults of the optional task fields.
const (
	// DefaultPoints is what a task is worth when task.yaml sets no points.
	DefaultPoints = 2.0
	// DefaultDifficulty is a task's difficulty when task.yaml sets none.
	DefaultDifficulty = "medium"
	// DefaultScoring is a task's scoring when task.yaml sets none.
	DefaultScoring = AllOrNothing
	// DefaultTimeout is a task's sandbox time limit when task.yaml sets none.
	DefaultTimeout = 120 * time.Second
)

// Load reads and validates the bank in folder dir. A bad bank is rejected
// whole: Load returns a nil *Bank and a *BankError listing every problem
// found, each naming its file and field. An error that is not a
// *BankError means the folder itself could not be read.
func Load(dir string) (*Bank, error) {
	return load(dir, MaxFileBytes, MaxBankBytes)
}

func load(dir string, maxFile, maxTotal int64) (*Bank, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load bank: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("load bank: %s is not a folder", dir)
	}
	probs := &problems{}
	fl := index(dir, maxFile, maxTotal, probs)

	b := &Bank{Dir: dir}
	bankYAML := loadBankFile(fl, b)
	list := loadTasks(fl, dir)
	checkDraws(probs, b, list)
	if err := probs.err(dir); err != nil {
		return nil, err
	}

	rank := make(map[string]int, len(Exams))
	for i, e := range Exams {
		rank[e] = i
	}
	sort.Slice(list, func(i, j int) bool {
		x, y := list[i].task, list[j].task
		if rank[x.Exam] != rank[y.Exam] {
			return rank[x.Exam] < rank[y.Exam]
		}
		return x.ID < y.ID
	})
	for _, l := range list {
		if l.task.Runner == RunnerJest && b.JSDeps.Source == JSDepsNPM {
			// The base's packages: the lockfile and package.json are
			// restored from the base commit, whatever the task lists.
			l.task.NodeModules = path.Join(path.Dir(b.JSDeps.Lockfile), "node_modules")
			for _, p := range []string{b.JSDeps.Lockfile, path.Join(path.Dir(b.JSDeps.Lockfile), "package.json")} {
				if !slices.Contains(l.task.Restore, p) {
					l.task.Restore = append(l.task.Restore, p)
				}
			}
		}
		b.Tasks = append(b.Tasks, l.task)
	}
	b.Digest = bankDigest(bankYAML, list)
	return b, nil
}

// bankSpec is bank.yaml as written.
type bankSpec struct {
	Version *int
	Name    string
	Go      string
	Repo    string
	Ref     string
	// Exams maps an exam to its threshold; a nil threshold means the
	// default. Unknown exams are reported while decoding.
	Exams map[string]*float64
	// Draws maps an exam to how many tasks a form draws from it; nil
	// means all.
	Draws    map[string]*int
	Attempts *int
	// JSSource and JSLockfile are js_deps.source and js_deps.lockfile.
	JSSource, JSLockfile string
}

// loadBankFile reads bank.yaml into b and returns its bytes.
func loadBankFile(fl *files, b *Bank) []byte {
	b.Exams = exams(nil)
	if !fl.exists(bankFile) {
		switch {
		case fl.dirs[bankFile]:
			fl.probs.add(bankFile, "", "is a folder; it must be the bank's YAML file")
		case !fl.refused[bankFile]:
			fl.probs.add(bankFile, "", "missing: a bank folder needs a bank.yaml (version, name, go, base.ref)")
		}
		return nil
	}
	data, ok := fl.read(bankFile)
	if !ok {
		return nil
	}
	y := newStrictYAML(bankFile, fl.probs)
	root := y.parse(data)
	if root == nil {
		return data
	}
	var s bankSpec
	y.mapping("", root, s.fields(y))
	checkBank(fl.probs, y.failed, &s, b)
	return data
}

// fields binds the keys of bank.yaml to s.
func (s *bankSpec) fields(y strictYAML) []field {
	base := func(name string, n *yaml.Node) {
		y.mapping(name, n, []field{{"repo", &s.Repo}, {"ref", &s.Ref}})
	}
	thresholds := func(name string, n *yaml.Node) {
		s.Exams = map[string]*float64{}
		s.Draws = map[string]*int{}
		y.pairs(name, n, func(name string, key, val *yaml.Node) {
			if !isExam(key.Value) {
				y.bad(name, "unknown exam (line %d); the exams are %s", key.Line, examList())
				return
			}
			var threshold *float64
			var draw *int
			y.value(name, val, func(name string, n *yaml.Node) {
				y.mapping(name, n, []field{{"threshold", &threshold}, {"tasks", &draw}})
			})
			s.Exams[key.Value] = threshold
			s.Draws[key.Value] = draw
		})
	}
	return []field{
		{"version", &s.Version},
		{"name", &s.Name},
		{"go", &s.Go},
		{"base", base},
		{"exams", thresholds},
		{"attempts", &s.Attempts},
		{"js_deps", func(name string, n *yaml.Node) {
			y.mapping(name, n, []field{{"source", &s.JSSource}, {"lockfile", &s.JSLockfile}})
		}},
	}
}

// exams returns the five exams with the thresholds set in th, or the
// default.
func exams(th map[string]*float64) []Exam {
	out := make([]Exam, len(Exams))
	for i, name := range Exams {
		out[i] = Exam{Name: name, Threshold: DefaultThreshold}
		if t := th[name]; t != nil {
			out[i].Threshold = *t
		}
	}
	return out
}

// loadTasks loads every task folder below tasks/.
func loadTasks(fl *files, dir string) []loaded {
	folders := fl.children(tasksDir)
	if len(folders) == 0 {
		switch {
		case fl.exists(tasksDir):
			fl.probs.add(tasksDir, "", "is a file; it must be the folder of task folders")
		case !fl.refused[tasksDir]:
			fl.probs.add(tasksDir, "", "holds no tasks; add a folder tasks/<id>/ with a task.yaml")
		}
		return nil
	}
	var list []loaded
	ids := map[string]string{} // task id -> task.yaml that declared it first
	for _, folder := range folders {
		rel := tasksDir + "/" + folder
		if !fl.dirs[rel] {
			if fl.exists(rel) {
				fl.probs.add(rel, "", "unexpected file; tasks/ holds only task folders")
			}
			continue
		}
		l, ok := loadTask(fl, dir, folder)
		if !ok {
			continue
		}
		if first, dup := ids[l.task.ID]; dup && l.task.ID != "" {
			fl.probs.add(rel+"/"+specFile, "id", "duplicate id %q, also used by %s; ids must be unique", l.task.ID, first)
			continue
		}
		ids[l.task.ID] = rel + "/" + specFile
		list = append(list, l)
	}
	return list
}

// Files a task folder may hold.
var taskEntries = map[string]bool{specFile: true, hiddenDir: true, referenceFile: true, statementFile: true}

// loadTask loads tasks/<folder>. It returns false when there is no task
// spec to check at all; other problems go to fl.probs.
func loadTask(fl *files, dir, folder string) (loaded, bool) {
	rel := tasksDir + "/" + folder
	for _, name := range fl.children(rel) {
		p := rel + "/" + name
		switch {
		case !taskEntries[name]:
			fl.probs.add(p, "", "unexpected; a task folder holds task.yaml, reference.patch, statement.md and hidden/")
		case name == hiddenDir && fl.exists(p):
			fl.probs.add(p, "", "is a file; it must be the folder of hidden files")
		case name != hiddenDir && name != specFile && fl.dirs[p]:
			fl.probs.add(p, "", "is a folder; it must be a file")
		}
	}
	specRel := rel + "/" + specFile
	if !fl.exists(specRel) {
		switch {
		case fl.dirs[specRel]:
			fl.probs.add(specRel, "", "is a folder; it must be the task's YAML file")
		case !fl.refused[specRel]:
			fl.probs.add(specRel, "", "missing: every task folder needs a task.yaml")
		}
		return loaded{}, false
	}
	data, ok := fl.read(specRel)
	if !ok {
		return loaded{}, false
	}
	y := newStrictYAML(specRel, fl.probs)
	root := y.parse(data)
	if root == nil {
		return loaded{}, false
	}
	var s taskSpec
	y.mapping("", root, s.fields())
	t := &Task{Dir: filepath.Join(dir, tasksDir, folder)}
	c := taskCheck{fl: fl, dir: rel, file: specRel, folder: folder, failed: y.failed}
	c.spec(&s, t)
	c.hidden(&s, t)
	c.tests(t)
	c.reference(t)
	if st, ok := fl.read(rel + "/" + statementFile); ok {
		t.Statement = string(st)
	}
	return loaded{task: t, spec: data}, true
}
