package ops

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine (a server, a group member)
// outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
