// Package incident is the responder's incident state machine: pure logic over an injected
// clock, no I/O. The responder feeds it events, operator commands and clock ticks, and gets
// back Changes: updates to publish on riverwatch.incidents and the incidents whose state
// must be written to the compacted state topic.
//
// Lifecycle:
//
//	open ──ack──► acknowledged ──recovered+hold / resolve──► resolved ──close_after──► closed
//	  └───────────recovered+hold / resolve──────────────────┘   │
//	                              a related event before close ◄┘ (reopened)
//
// Grouping (Alertmanager group_by): an opening event joins the incident of the event it
// derives from (a prediction's origin), else an incident that is not closed, of the same
// category (water quality or maintenance), parameter group and connected reach, whose latest
// event is within the group window; otherwise it opens a new one. Event ids are remembered,
// so a replayed event changes nothing. The incident grows: new sites, new playbooks (an
// exceedance that then threatens an intake gains the intake's steps), a higher level (the
// level never drops by itself), and a level change is sent to everyone notified so far.
//
// Escalation (Opsgenie if-not-acked / if-not-closed): each step rule fires once, after its
// delay, if the step is still not acknowledged (no receipt, not done, and — for steps that
// ask no receipt — the incident not acknowledged) or still not done.
// A rule's target may climb the river-chief tree (network.Ancestor); a step's
// escalation_policy arrives compiled into rules, its reminders re-sending the step to its
// own actor. Every message goes to whoever the contact's rota has on duty when it is queued
// (notify.Contacts.OnDuty). Acknowledgements expire (ack.go): the incident's when it
// resolves or re-opens, the receipts of steps not done when it re-opens, whose escalation
// then runs again; a re-opening within resolve.renotify_within tells the acknowledger.
//
// Notifications are queued in the incident's outbox with a deterministic idempotency key.
// Delivery is write-ahead: StartDeliveries marks them sending (persist that), the caller
// delivers, FinishDelivery records the outcome. Restore turns a "sending" left by a crash
// into an "interrupted" attempt record and re-queues it under the same key.
//
// Resolution sends End of Alert to every recipient notified. Drills are incidents marked
// Drill: every message starts with 【演练】, they never absorb real events, and their
// response times are summarised in the audit trail (DrillReport).
//
// Silences (pkg/silence) arrive as commands and are kept in the state topic under
// SilenceKey. An incident every event of which an active silence matches is silenced: it
// opens as any other, with SilencedBy set, but its queued notifications are held (recorded
// as inhibited), it does not escalate, and when no silence holds it any more the held
// messages are released. End of Alert is never held and goes only to those told.
//
// Inhibition (inhibit.go) holds a water-quality incident's messages the same way, with
// InhibitedBy set, when every alarm of it stands on an offline station or a suspect series,
// or when its verdict is sensor_fault_likely; the maintenance unit is told instead. The
// verdict comes from prediction.verified / .refuted and the network's neighbours:
// pollution_confirmed lifts the inhibition with an escalation.
//
// An open incident none of whose sites is in the network any more (sites.yaml changed while
// it was open) is resolved and closed at the next tick, with the sites named, instead of
// escalating to people who cannot act on it.
//
// Playbook durations are divided by Config.TimeScale, so demos and tests can run a one-hour
// deadline in a minute or a second.
package incident
