// Package backtest answers "what would this rule change have done?": it replays a period
// of stored readings through the assessor's engine twice, under the configuration in force
// and under a candidate (thresholds and targets in the sites file, confirmation,
// hysteresis, flat-line and jump rules in the assessor section), and compares the alarms.
//
//	ClickHouse readings FINAL ──ScanReadings (observation order)──┬─► engine (current)   ─► episodes ─┐
//	                                                               └─► engine (candidate) ─► episodes ─┴─► Report
//
// Nothing touches the live topics: the engines are the run's own, their clock is the
// stream's (each reading's observed time, with a Tick every minute of it as the assessor
// ticks on its clock), so a replay of the same history gives the same report.
//
// An episode is an exceedance from exceedance.opened to exceedance.cleared (or the end of
// the period). Its detection delay runs from the first reading of the run that opened it
// (the readings before the opening that exceed the event's limit in its direction) to the
// opening. Episodes of the two configurations on one series whose intervals meet are the
// same alarm; those of the candidate that meet none are "added", those of the current one
// "removed". "Notifying" counts the events that start or update an incident (opened,
// updated, downstream predictions), each of which notifies the recipients of the incident's
// playbook; the playbooks themselves are the responder's and are not replayed.
package backtest
