// Package kubernetes holds the tests of riverwatch's Kubernetes manifests (base/, overlays/,
// secrets-example/): every file, and every overlay as kustomize renders it, is decoded
// strictly into the typed Kubernetes API objects, so that a misspelt or misplaced field
// fails, and then checked for what DESIGN.md and docs/operations.md promise (probes, ports,
// requests, the migration Job, the stations' TCP 9212, disruption budgets, the
// ServiceMonitor). It is a module of its own so that the service module does not depend on
// the Kubernetes libraries.
package kubernetes
