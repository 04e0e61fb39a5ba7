package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3 document of the API. It is written by hand, next to the
// handlers; openapi_test.go proves that it lists exactly the routes registered and that
// every documented response schema matches what the handlers return.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3 document.
func OpenAPI() []byte { return openAPIDoc }

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(openAPIDoc)
}
