package testout_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/testout"
)

func Example() {
	// A few lines of `go test -json` for a package with three tests.
	const stream = `{"Action":"start","Package":"example.com/shop"}
{"Action":"run","Package":"example.com/shop","Test":"TestTotal"}
{"Action":"output","Package":"example.com/shop","Test":"TestTotal","Output":"=== RUN   TestTotal\n"}
{"Action":"output","Package":"example.com/shop","Test":"TestTotal","Output":"--- PASS: TestTotal (0.00s)\n"}
{"Action":"pass","Package":"example.com/shop","Test":"TestTotal","Elapsed":0}
{"Action":"run","Package":"example.com/shop","Test":"TestRefund"}
{"Action":"output","Package":"example.com/shop","Test":"TestRefund","Output":"=== RUN   TestRefund\n"}
{"Action":"output","Package":"example.com/shop","Test":"TestRefund","Output":"    shop_test.go:21: refund = 5, want 7\n"}
{"Action":"output","Package":"example.com/shop","Test":"TestRefund","Output":"--- FAIL: TestRefund (0.01s)\n"}
{"Action":"fail","Package":"example.com/shop","Test":"TestRefund","Elapsed":0.01}
{"Action":"run","Package":"example.com/shop","Test":"TestTax"}
{"Action":"output","Package":"example.com/shop","Test":"TestTax","Output":"--- SKIP: TestTax (0.00s)\n"}
{"Action":"skip","Package":"example.com/shop","Test":"TestTax","Elapsed":0}
{"Action":"output","Package":"example.com/shop","Output":"FAIL\n"}
{"Action":"fail","Package":"example.com/shop","Elapsed":0.02}
`
	res, err := testout.ParseGo(strings.NewReader(stream))
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range res.Tests {
		fmt.Println(t.Status, t.Name, t.Elapsed)
	}
	fmt.Println("build failed:", res.BuildFailed, "incomplete:", res.Incomplete)
	fmt.Print(res.Tests[1].Output)
	// Output:
	// pass TestTotal 0s
	// fail TestRefund 10ms
	// skip TestTax 0s
	// build failed: false incomplete: false
	//     shop_test.go:21: refund = 5, want 7
	// --- FAIL: TestRefund (0.01s)
}
