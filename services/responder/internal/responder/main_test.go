package responder_test

import (
	"testing"

	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine (a consumer, the ticker, a delivery)
// outlives them.
// Integration tests run under it too; only libraries' own long-lived goroutines are let
// through (testinfra.LibraryGoroutines says which and why).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testinfra.LibraryGoroutines()...)
}
