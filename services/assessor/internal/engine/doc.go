// Package detect is the assessor's judgement, as pure logic: per-series state machines
// (site × parameter), data-quality rules, silent stations and downstream predictions. It
// does no I/O and reads time only from the readings and from an injected clock, so every
// rule is tested with a fake clock, and a replay of the same readings gives the same
// events with the same ids (message.EventID).
//
// An Engine takes readings one at a time (Apply, ApplyAt) and the clock's ticks (Tick),
// and returns events. For each reading, in this order:
//
//  1. Station: any reading, whatever its flag, proves its station alive (station.online
//     after a silence).
//  2. Data quality, before judgement. Only HJ 212 flag N (or no flag, which means N:
//     message.NormalizeFlag) is water quality: T (above the instrument's range) raises
//     quality.suspect, the other flags are not judged. A physically impossible value
//     (standard.Plausible; the gateway owns that rule and refuses such values, so here it
//     is defence in depth for readings written straight to Kafka) and a flat line (FlatLineReadings
//     identical values above the Class I level) raise quality.suspect and are not
//     judged. A jump (more than JumpFactor × the recent median or Class III limit away
//     from the median) raises quality.suspect but is still judged: a spill is a jump too.
//     A tracer drill's tracer (parameter "tracer") leaves after the plausibility check:
//     never judged, flat at 0 for weeks without being suspect, its pulse is
//     predicted downstream, verified and re-tunes the reach's velocity and dispersion
//     (tracer.go, docs/plume.md "Tracer drills").
//  3. Judgement against the site's target (standard.Judge): Class III (or the section's
//     target class) for sections, Class II plus Tables 2 and 3 for drinking-water
//     sources, the permit for outfalls.
//  4. The exceedance state machine: normal → pending → open → normal. A run of
//     ConfirmReadings failing readings, or one lasting ConfirmDuration, opens; a severe
//     reading (劣V, an over-standard multiple ≥ SevereMultiple, a toxic item, pH a unit
//     outside 6–9) opens at once. An open exceedance is updated when its class changes,
//     it turns severe, or it gets UpdateRatio times worse; it clears after ClearReadings
//     readings inside the hysteresis band (ClearRatio × the limit).
//  5. Predictions, when an exceedance at a section, source or outfall opens or worsens:
//     the travel time to every downstream site (tributaries join their main river) and
//     the concentration there (mass balance for outfalls, carried with optional decay for
//     sections, mixed at confluences), prediction.issued where it fails that site's
//     target.
//
// A series judges one stream of time: real-time values when the station sends them, a
// minute or hour average (timed at the start of its period) only for a stretch no finer
// reading covered, so an average arriving at the end of its hour cannot reopen what the
// real-time values cleared. Late readings are judged by their observed time within Grace
// of the series' newest reading, and only counted beyond it.
//
// Tick declares silent stations offline by the wall clock, against the time each was last
// heard (reception), and clears predictions in observed time: the clean water has arrived
// when the engine's stream time (the newest observed time applied, capped at reception)
// passes the upstream's clearing time + the travel time; a prediction is refuted by a
// compliant downstream reading observed after arrival + PredictionWindow. A replay or a
// backfill, whose observed times lie far behind the wall clock, therefore keeps its
// predictions while its plumes are still travelling in its own time.
//
// The engine's state exports as Records (DrainState, ExportAll) and imports back
// (Import), which is how services/assessor/internal/assessor survives crashes and rebalances. README.md records
// the decisions behind the rules.
package engine
