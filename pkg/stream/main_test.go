package stream

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a consumer, a
// generation's fetchers or a reader that is not stopped by its ctx.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
