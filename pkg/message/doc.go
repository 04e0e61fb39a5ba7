// Package message defines the records that travel on riverwatch's Kafka topics, their
// deterministic ids and their JSON encoding.
//
//	gateway   ──Reading────► riverwatch.readings  ──► assessor, archiver
//	gateway   ──Rejection──► riverwatch.rejected  ──► archiver
//	assessor  ──Event──────► riverwatch.events    ──► responder, archiver
//	responder ──IncidentUpdate► riverwatch.incidents ► archiver, api
//	api       ──Command────► riverwatch.commands  ──► responder
//
// Every record carries an id derived from its content (never a random one), so that a
// replayed Kafka message produces the same id and every consumer can drop the repeat.
// Times are UTC on the wire.
package message
