// Package storetest holds what tests of the archive share: the conformance suite of the
// read model (Run), which holds the ClickHouse Reader and the api's in-memory store to the
// same answers, and the helpers of the integration tests that write through the archiver
// (Archive: a migrated database of one's own with its Writer and Reader; deterministic
// readings; Kafka publishing and offset look-ups; metric values).
//
// The suite runs against apitest.MemStore in every `go test ./...` and against the
// ClickHouse Reader with RIVERWATCH_INTEGRATION=1 (pkg/store's TestReaderConformance).
// Where the two disagree, ClickHouse is right: what it answers is what production answers.
//
// pkg/store's own internal tests cannot import this package (it imports pkg/store); they
// keep the few lines that build a Writer they can reach into.
package storetest
