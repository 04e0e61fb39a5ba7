// Package simulate is riverwatch's outside world, for `make demo`, the end-to-end test and
// the benchmarks: believable signals for every station in sites.yaml, a river that carries a
// spill downstream, scenarios in YAML, HJ 212-2017 data loggers that speak to the gateway,
// a load generator, a webhook sink that plays the people being notified, and a narrator
// that tells an incident's story as it crosses the pipeline.
//
//	Scenario (configs/scenarios/*.yaml) ─► World = Model (signals) + timeline (spill, stuck,
//	   drift, silent, drill, tracer) ─► Fleet: one station per site ─► DataLogger ─HJ 212─► gateway
//	Narrator ◄─ Follow ◄─ riverwatch.readings, .events, .incidents   (simulator narrate)
//	Sink ◄─ responder's webhooks, WeCom and DingTalk robots            (simulator sink)
//	Load: N stations × M parameters at a rate, over HJ 212 or straight to Kafka
//
// # Simulated time
//
// A scenario runs on a simulated clock that moves Acceleration times faster than the wall
// clock. The gateway refuses readings whose DataTime lies more than a few minutes in the
// future, so the simulated clock starts in the past — at wall-clock start minus the
// scenario's span — and reaches "now" exactly when the scenario ends; it never overtakes the
// wall clock:
//
//	sim(t) = (start − span) + (t − start) × acceleration      span = the scenario's duration
//
// After the span, `simulator run -live` keeps the stations reporting at the wall clock's
// pace, a few minutes behind it.
//
// Everything the assessor judges by observed time (confirmation, travel times, predicted
// arrivals, and the withdrawal of a downstream prediction once clean water has travelled
// down, measured in stream time) runs at the simulated pace. What runs on the wall clock
// does not: the responder's deadlines, escalations and resolve hold (scaled by
// RIVERWATCH_RESPONDER_TIME_SCALE) and the assessor's offline rule. A demo chooses the
// responder's time scale so that deadlines and the resolve hold fit in minutes (see
// deploy/local/demo.sh).
//
// Starting in the past has a price: a second run on the same pipeline within a span of the
// first replays times the assessor has already seen, and it ignores readings more than
// assessor.grace older than a station's newest. LatestObserved and Scenario.Overlap let
// `simulator run` refuse such a run with an explanation instead of telling half a story.
//
// # Signals
//
// Values are pure functions of (site, parameter, simulated time): seasonal and diurnal
// cycles (water temperature, dissolved oxygen following saturation and photosynthesis, pH,
// snow-melt flow, winter mineralisation), plus deterministic noise hashed from the time. A
// frame that is resent therefore carries exactly the values it carried the first time, two
// runs of a scenario produce the same readings, and an honest sensor never draws the flat
// line the assessor takes for a stuck one. Undisturbed, every station meets its target all
// year (checked by a test over a year of values).
//
// # The river
//
// A spill at an outfall is a pulse of effluent concentration. Downstream it is mixed into
// the river (mass balance with the outfall's and the river's flows, the river's scaled by
// the season), carried at the river's velocity, spread by longitudinal dispersion (the
// one-dimensional advection–dispersion solution for a release of finite duration) and
// reduced by first-order decay.
//
// # Data loggers
//
// A DataLogger keeps a station's uploads in order and forgets one only when the gateway's
// 9014 for its QN arrives — which the gateway sends once Kafka has the data. An upload not
// answered in time is sent again with the same QN and values (the gateway and the readings'
// deterministic ids absorb the repeat); while the link is down the uploads wait and go out
// in order when it returns, as field loggers resend (补发).
//
// A data logger also takes host commands over its open connection, as field loggers do:
// it answers the protocol (9011, the report under the command's QN, 9012) and the station
// does the work (DataLogger.Execute): 1062 and 1064 change its reporting schedule from the
// command on, 3015 retains a sample, 1011 reports its time.
package simulate
