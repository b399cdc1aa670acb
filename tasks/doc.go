// Package tasks loads and validates a task bank: the exams' pass marks,
// and for each task its spec, hidden test files, reference solution and
// statement. It is pure data: it knows nothing of Docker or git.
//
// A bank is a folder:
//
//	BANK/
//	  bank.yaml
//	  tasks/<id>/task.yaml
//	  tasks/<id>/hidden/<repo-relative path of each hidden file>
//	  tasks/<id>/reference.patch
//	  tasks/<id>/statement.md   (optional)
//
// The format is documented in docs/bank.md. Load reads the bank as plain
// files (symlinks are refused), with a size limit per file (MaxFileBytes)
// and in total (MaxBankBytes). The YAML files are decoded strictly: an
// unknown or repeated field is an error.
//
// A bad bank is rejected whole. Load then returns a nil *Bank and a
// *BankError that lists every problem, sorted by file, each naming its
// file (relative to the bank folder) and field:
//
//	invalid bank ./bank: 2 problems
//	tasks/server-health/task.yaml: points: must be > 0 (got 0)
//	tasks/server-health/task.yaml: timeout: must be a Go duration like 90s or 5m (got "ten seconds")
//
// Example:
//
//	b, err := tasks.Load("bank")
//	var be *tasks.BankError
//	if errors.As(err, &be) {
//		for _, p := range be.Problems {
//			fmt.Println(p.File, p.Field, p.Msg)
//		}
//		return err
//	}
//	if err != nil {
//		return err // the folder could not be read
//	}
//	for _, t := range b.TasksFor("server") {
//		fmt.Println(t.ID, t.Possible(), t.Digest())
//	}
//	fmt.Println(b.Exam("server").Threshold, b.Digest)
package tasks
