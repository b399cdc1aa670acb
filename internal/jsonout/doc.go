// Package jsonout writes JSON the one way the grader lays out every file
// and report it writes: indented by two spaces, HTML characters escaped
// as encoding/json does by default, and a final newline.
//
// Example:
//
//	if err := jsonout.Write(os.Stdout, rep); err != nil {
//		return err
//	}
package jsonout
