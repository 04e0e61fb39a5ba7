// Package api is riverwatch's REST API and the server of its web dashboard.
//
// Reads come from ClickHouse through the small Store interface (store.Reader in production,
// apitest.MemStore in tests). Operator actions — acknowledge, confirm receipt, mark a step
// done, resolve, start a drill — are not applied here: the API publishes a message.Command to
// riverwatch.commands through a Commander and waits (up to api.command_timeout) until the
// responder's audit trail shows the command applied, answering 200 with the incident, or 202
// "pending" with the command id when it has not been applied in time.
//
//	browser ──► /api/v1/...  ──► Store ──► ClickHouse (readings, rollups, events, incidents)
//	        ──► POST ack     ──► Commander ──► riverwatch.commands ──► responder
//	                              wait for incident_log.command_id ◄── archiver ◄── riverwatch.incidents
//	        ◄── /api/v1/stream (Server-Sent Events: "change" when the Watermark moves)
//
// Every request but the OpenAPI document and the dashboard's static files needs a bearer
// token from the tokens file; a token sees only the sites of its jurisdictions and the
// incidents that concern any of them (upstream and downstream included).
package api
