package incident

import (
	"fmt"

	"github.com/riverwatch/riverwatch/pkg/incidentreport"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// KindFinalReport is the report of the result (处理结果报告) sent to the eeb role of every
// jurisdiction concerned when an incident closes (pkg/incidentreport: the text the api
// serves at GET /incidents/{id}/report?kind=final).
const KindFinalReport = "final_report"

// roleEEB is the role the reports are written for: the ecological-environment bureau.
const roleEEB = "eeb"

// finalReport queues the report of the result to the eeb role of each of the incident's
// jurisdictions. The engine keeps no audit trail, so the report's course is the one the
// incident record tells (its acknowledgements, the steps' times); the api's download has
// the full log.
func (e *Engine) finalReport(t *tx, st *State) {
	inc := st.Incident
	var events []message.Event
	for _, f := range st.Facts {
		events = append(events, message.Event{ID: f.EventID, Type: f.Type, Site: f.Site, Parameter: f.Parameter, Value: f.Value,
			Limit: f.Limit, Multiple: f.Multiple, ObservedAt: f.At, OriginSite: f.Origin, ArrivalAt: f.Arrival})
	}
	var sent []message.Notification
	for _, o := range st.Outbox {
		if o.Attempts == 0 {
			continue
		}
		status := o.Status
		if status != statusSent {
			status = statusFailed
		}
		sent = append(sent, message.Notification{Key: o.Key, Recipient: o.Jurisdiction + "/" + o.Role + "/" + o.Name, Status: status})
	}
	text, err := incidentreport.Text(incidentreport.Record{
		Incident: inc, Notifications: sent, Events: events,
		Names: incidentreport.NetworkNames(e.net, e.contacts.RoleName), Location: e.net.Location, Now: t.now,
	}, incidentreport.Final)
	if err != nil {
		t.log(st, "final_report_failed", actorResponder, err.Error(), "")
		return
	}
	if inc.Drill {
		// enqueue marks a drill's body itself; the report's title says it too.
		text = text[len(drillPrefix):]
	}
	for _, j := range inc.Jurisdictions {
		e.enqueueRole(t, st, "", KindFinalReport, j, roleEEB, text, fmt.Sprintf("final#%d", st.Round))
	}
	t.log(st, "final_report", actorResponder, fmt.Sprintf("report of the result (处理结果报告) to the %s role of %d jurisdictions", roleEEB, len(inc.Jurisdictions)), "")
}
