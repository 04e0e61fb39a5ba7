// Package compose holds the test of deploy/compose/compose.yaml: it is loaded and validated
// by compose-go, the library `docker compose` itself loads files with (the Compose
// Specification's JSON schema, interpolation, then the model's own consistency checks), and
// checked against what docs/operations.md promises. A module of its own, so that the service
// module does not depend on compose-go.
package compose
