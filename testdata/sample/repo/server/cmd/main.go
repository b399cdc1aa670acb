// Command server runs the Meshery server.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/meshery/meshery/server/handlers"
	"github.com/meshery/meshery/server/meshmodel"
)

// version is set at build time with -ldflags.
var version = "v0.8.0"

func main() {
	addr := flag.String("addr", ":9081", "listen address")
	flag.Parse()
	models, err := meshmodel.Builtin()
	if err != nil {
		log.Fatalf("load models: %v", err)
	}
	h := &handlers.Handler{Version: version, Commit: "unknown", Models: models}
	srv := &http.Server{Addr: *addr, Handler: h.Routes(), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("meshery server %s listening on %s", version, *addr)
	log.Fatal(srv.ListenAndServe())
}
