// Package message defines the records that travel on riverwatch's Kafka topics, their
// deterministic ids and their JSON encoding.
//
//	gateway   ──Reading────► riverwatch.readings  ──► assessor, archiver
//	gateway   ──Rejection──► riverwatch.rejected  ──► archiver
//	(and every consumer, for a message it cannot decode)
//	assessor  ──Event──────► riverwatch.events    ──► responder, archiver
//	responder ──IncidentUpdate► riverwatch.incidents ► archiver, api
//	api       ──Command────► riverwatch.commands  ──► responder
//
// Two rules of the contract live here so that producers and consumers cannot disagree:
// an empty reading flag means FlagNormal (NormalizeFlag, Reading.NormalFlag), and a Kafka
// message a consumer cannot use becomes one Rejection of reason ReasonUndecodable
// (UndecodableRejection) on riverwatch.rejected, whichever consumer refused it.
//
// Every record carries an id derived from its content (never a random one), so that a
// replayed Kafka message produces the same id and every consumer can drop the repeat.
// Times are UTC on the wire.
package message
