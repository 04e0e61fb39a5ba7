package silencecli

import (
	"testing"

	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine (a test server's, a client's idle
// connection) outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testinfra.LibraryGoroutines()...)
}
