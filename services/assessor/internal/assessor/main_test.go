package assessor

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a consumer, a tailer, a
// ticker or a writer that the assessor did not stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Writers publish through kafka-go's process-wide DefaultTransport, whose pooled
		// broker connections (and their goroutines) outlive Writer.Close by design, until
		// the transport's idle timeout: they are kafka-go's, shared, and not a leak.
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*conn).run"),
	)
}
