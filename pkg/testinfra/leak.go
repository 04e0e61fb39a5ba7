package testinfra

import "go.uber.org/goleak"

// LibraryGoroutines are the goleak options that every package's TestMain passes: the
// goroutines that libraries keep on purpose for the life of the process, which no test
// can stop and which are not riverwatch's leaks.
func LibraryGoroutines() []goleak.Option {
	return []goleak.Option{
		// kafka-go: a Writer or Client without a Transport of its own uses the process-wide
		// kafka.DefaultTransport, whose connection pool keeps, per broker, a metadata
		// refresher (discover) and the pooled connections (conn.run) after Writer.Close,
		// like net/http's idle keep-alive connections; nothing in kafka-go's API closes them.
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*conn).run"),
	}
}
