package grader

func jsCapabilities(name string, cand, base []byte) ([]Capability, error) { return nil, nil }
func jsImports(name string, src []byte) ([]string, error)                 { return nil, nil }
