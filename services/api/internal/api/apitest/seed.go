package apitest

import (
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Fixture names what Seed stored.
type Fixture struct {
	Now time.Time
	// OpenIncident (open) starts at STH-S2 in changji and concerns xpcc6 downstream;
	// AckedIncident (acknowledged) starts at TTH-S2 in urumqi and concerns changji
	// downstream; ResolvedIncident concerns xpcc12 only.
	OpenIncident, AckedIncident, ResolvedIncident string
	// Silences (pkg/silence), active at Now unless said otherwise: OwnSilence of STH-D1
	// (changji); RiverSilence of the Toutun river (urumqi, xpcc12 and changji);
	// OutsideSilence of TTH-S1 (xpcc12 only); ExpiredSilence of STH-S1 (changji), ended an
	// hour before Now.
	OwnSilence, RiverSilence, OutsideSilence, ExpiredSilence string
	// Classes is the current class each section and source was seeded to have.
	Classes map[string]standard.Class
}

// profile is what a site's water looks like: values per parameter.
type profile map[string]float64

// Current classes the seed gives the configured sites (configs/sites.yaml): one of each
// colour, so a screenshot shows the whole scale.
var profiles = map[string]profile{
	"TTH-S1": {"ph": 7.8, "do": 8.1, "codmn": 1.8, "nh3n": 0.12, "tp": 0.05, "temp": 9, "conductivity": 380, "turbidity": 4},  // Ⅱ
	"TTH-S2": {"ph": 7.6, "do": 5.6, "codmn": 8.4, "nh3n": 0.8, "tp": 0.18, "temp": 11, "conductivity": 520, "turbidity": 12}, // Ⅳ
	"TTH-S3": {"ph": 7.7, "do": 6.2, "codmn": 5.1, "nh3n": 0.7, "tp": 0.15, "temp": 11, "conductivity": 560, "turbidity": 9},  // Ⅲ
	"STH-D1": {"ph": 7.9, "do": 8.4, "codmn": 1.6, "nh3n": 0.1, "tp": 0.02, "temp": 8, "conductivity": 300, "turbidity": 2},   // Ⅰ–Ⅱ
	"STH-S1": {"ph": 7.7, "do": 6.4, "codmn": 4.2, "nh3n": 0.6, "tp": 0.12, "temp": 10, "conductivity": 480, "turbidity": 7},  // Ⅲ
	"STH-S2": {"ph": 7.5, "do": 4.1, "codmn": 9.5, "nh3n": 2.6, "tp": 0.35, "temp": 12, "conductivity": 690, "turbidity": 18}, // 劣Ⅴ
	"STH-D2": {"ph": 7.8, "do": 7.2, "codmn": 3.1, "nh3n": 0.3, "tp": 0.08, "temp": 10, "conductivity": 420, "turbidity": 5},  // Ⅱ
	"STH-S3": {"ph": 7.6, "do": 3.4, "codmn": 12.5, "nh3n": 1.7, "tp": 0.3, "temp": 12, "conductivity": 720, "turbidity": 20}, // Ⅴ
	"TTH-O1": {"ph": 7.2, "cod": 42, "nh3n": 3.1, "tp": 0.3, "flow": 280},
	"STH-O1": {"ph": 7.1, "cod": 38, "nh3n": 4.2, "tp": 0.4, "flow": 600},
}

// Seed fills a MemStore with a plausible picture of the network at now: hourly readings of
// the last three days and daily readings of the thirteen months before for every site of
// net that has a profile, exceedance and prediction events, and three incidents with steps,
// logs and notifications.
func Seed(m *MemStore, net *network.Network, now time.Time) Fixture {
	now = now.UTC().Truncate(time.Second)
	f := Fixture{Now: now, Classes: map[string]standard.Class{}}
	hour := now.Truncate(time.Hour)
	for _, site := range net.Sites() {
		prof, ok := profiles[site.ID]
		if !ok {
			continue
		}
		body := standard.River
		if site.IsLake() {
			body = standard.Lake
		}
		var worst standard.Class
		for param, base := range prof {
			if c, err := standard.Classify(param, base, body); err == nil && standard.Evaluated2011(param) {
				worst = max(worst, c)
			}
			unit := standard.CanonicalUnit(param)
			var rs []message.Reading
			add := func(t time.Time, v float64, interval string) {
				rs = append(rs, message.Reading{
					ID: message.ReadingID(site.ID, param, interval, t), Site: site.ID, Parameter: param, Value: v, Unit: unit,
					Interval: interval, Flag: message.FlagNormal, ObservedAt: t, ReceivedAt: t.Add(time.Minute), Source: message.SourceHJ212,
				})
			}
			// Daily data for the past 13 months, wandering ±10 % around the profile.
			for d := 400; d >= 3; d-- {
				t := hour.AddDate(0, 0, -d)
				add(t, wobble(param, base, float64(d), 0.1), message.IntervalDay)
			}
			// Hourly data for the last three days, ending on the profile value exactly so
			// that the current class is the seeded one.
			for h := 71; h >= 0; h-- {
				t := hour.Add(-time.Duration(h) * time.Hour)
				v := wobble(param, base, float64(h), 0.05)
				if h == 0 {
					v = base
				}
				add(t, v, message.IntervalHour)
			}
			m.AddReadings(rs...)
		}
		if site.Kind != network.KindOutfall {
			f.Classes[site.ID] = worst
		}
	}

	ev := func(typ, site, param string, value, limit float64, class string, at time.Time) message.Event {
		multiple := 0.0
		if limit > 0 && value > limit {
			multiple = (value - limit) / limit
		}
		return message.Event{
			ID: message.EventID(typ, site, param, at, ""), Type: typ, Site: site, Parameter: param, Value: value, Limit: limit,
			TargetClass: "III", Class: class, Multiple: multiple, Severity: "severe",
			ObservedAt: at, EmittedAt: at.Add(2 * time.Second),
		}
	}
	m.AddEvents(
		ev(message.EventExceedanceOpened, "STH-S2", "nh3n", 2.4, 1.0, "劣V", hour.Add(-5*time.Hour)),
		ev(message.EventExceedanceUpdated, "STH-S2", "nh3n", 2.6, 1.0, "劣V", hour.Add(-2*time.Hour)),
		ev(message.EventExceedanceOpened, "TTH-S2", "codmn", 8.4, 6.0, "IV", hour.Add(-8*time.Hour)),
		ev(message.EventExceedanceOpened, "STH-S1", "nh3n", 1.3, 1.0, "IV", hour.Add(-30*time.Hour)),
		ev(message.EventExceedanceCleared, "STH-S1", "nh3n", 0.6, 1.0, "III", hour.Add(-20*time.Hour)),
		ev(message.EventQualitySuspect, "STH-S3", "do", 3.4, 0, "", hour.Add(-3*time.Hour)),
	)
	pred := ev(message.EventPredictionIssued, "STH-D2", "nh3n", 0, 0.5, "", hour.Add(-2*time.Hour))
	pred.OriginSite, pred.ArrivalAt, pred.PredictedValue, pred.DistanceKm = "STH-S2", hour.Add(2*time.Hour), 0.9, 12
	m.AddEvents(pred)

	opened := hour.Add(-5 * time.Hour)
	at := func(d time.Duration) *time.Time { t := opened.Add(d); return &t }
	f.OpenIncident, f.AckedIncident, f.ResolvedIncident = "inc-sth-s2-nh3n", "inc-tth-s2-codmn", "inc-tth-s1-old"
	m.PutIncident(message.Incident{
		ID: f.OpenIncident, Version: 3, Title: "三屯河城区下游断面 氨氮超标（劣Ⅴ类）", Status: message.IncidentOpen,
		Level: "IV", Colour: "blue", Playbook: "section_exceedance", River: "santun", Site: "STH-S2",
		Sites: []string{"STH-S2", "STH-D2", "STH-S3"}, Parameters: []string{"nh3n"}, Jurisdictions: []string{"changji", "xpcc6"},
		EventIDs: []string{}, OpenedAt: opened, UpdatedAt: opened.Add(time.Minute),
		Steps: []message.Step{
			{ID: "s1", Relation: "self", Jurisdiction: "changji", Role: "昌吉市生态环境局应急值班", Action: "1小时内初报，核实排污口排放情况",
				Deadline: opened.Add(time.Hour), ConfirmReceipt: true, NotifiedAt: at(time.Minute)},
			{ID: "s2", Relation: "downstream_to_intake", Jurisdiction: "changji", Role: "第二水厂", Action: "加密监测取水口，准备应急切换水源",
				Deadline: opened.Add(2 * time.Hour), ConfirmReceipt: true, NotifiedAt: at(time.Minute), ReceiptAt: at(20 * time.Minute)},
			{ID: "s3", Relation: "downstream", Jurisdiction: "xpcc6", Role: "第六师生态环境局", Action: "通报下游，出境断面加密监测",
				Deadline: opened.Add(4 * time.Hour), ConfirmReceipt: true, NotifiedAt: at(2 * time.Minute)},
		},
	})
	m.PutIncident(message.Incident{
		ID: f.AckedIncident, Version: 5, Title: "头屯河八钢断面 高锰酸盐指数超标（Ⅳ类）", Status: message.IncidentAcknowledged,
		Level: "IV", Colour: "blue", Playbook: "section_exceedance", River: "toutun", Site: "TTH-S2",
		Sites: []string{"TTH-S2", "TTH-S3"}, Parameters: []string{"codmn"}, Jurisdictions: []string{"urumqi", "changji"},
		EventIDs: []string{}, OpenedAt: hour.Add(-8 * time.Hour), AckedAt: at(-2 * time.Hour), UpdatedAt: hour.Add(-6 * time.Hour),
		Steps: []message.Step{
			{ID: "s1", Relation: "self", Jurisdiction: "urumqi", Role: "头屯河区生态环境分局", Action: "排查工业园区排口",
				Deadline: hour.Add(-7 * time.Hour), ConfirmReceipt: true, ReceiptAt: at(-150 * time.Minute), DoneAt: at(-time.Hour)},
			{ID: "s2", Relation: "downstream", Jurisdiction: "changji", Role: "昌吉市生态环境局", Action: "出境断面加密监测",
				Deadline: hour.Add(-4 * time.Hour), ConfirmReceipt: true},
		},
	})
	closed := hour.Add(-72 * time.Hour)
	m.PutIncident(message.Incident{
		ID: f.ResolvedIncident, Version: 7, Title: "头屯河水库出口断面 总磷超标", Status: message.IncidentResolved,
		Level: "IV", Colour: "blue", Playbook: "section_exceedance", River: "toutun", Site: "TTH-S1",
		Sites: []string{"TTH-S1"}, Parameters: []string{"tp"}, Jurisdictions: []string{"xpcc12"},
		EventIDs: []string{}, Steps: []message.Step{}, OpenedAt: closed.Add(-10 * time.Hour), ResolvedAt: &closed, UpdatedAt: closed,
	})
	m.AddLog(
		message.LogEntry{ID: "l1", IncidentID: f.OpenIncident, Version: 1, At: opened, Actor: "responder", Action: "opened", Detail: "氨氮 2.4 mg/L，超Ⅲ类标准1.4倍"},
		message.LogEntry{ID: "l2", IncidentID: f.OpenIncident, Version: 2, At: opened.Add(time.Minute), Actor: "responder", Action: "notified", Detail: "通知3个责任单位"},
		message.LogEntry{ID: "l3", IncidentID: f.OpenIncident, Version: 3, At: opened.Add(20 * time.Minute), Actor: "第二水厂", Action: "receipt_confirmed", Detail: "s2"},
		message.LogEntry{ID: "l4", IncidentID: f.AckedIncident, Version: 1, At: hour.Add(-8 * time.Hour), Actor: "responder", Action: "opened"},
	)
	m.AddNotifications(
		message.Notification{ID: "n1", Key: "k1", IncidentID: f.OpenIncident, StepID: "s1", Kind: "assign", Channel: "webhook",
			Recipient: "changji-duty", Subject: "氨氮超标", Attempt: 1, Status: "sent", At: opened.Add(time.Minute)},
		message.Notification{ID: "n2", Key: "k2", IncidentID: f.OpenIncident, StepID: "s3", Kind: "warning", Channel: "wecom",
			Recipient: "xpcc6-duty", Subject: "上游来水预警", Attempt: 1, Status: "failed", Error: "timeout", At: opened.Add(2 * time.Minute)},
	)
	f.OwnSilence, f.RiverSilence, f.OutsideSilence, f.ExpiredSilence = "sil-changji-d1", "sil-toutun", "sil-xpcc12-tth-s1", "sil-changji-old"
	sil := func(id, name, value string, starts, ends time.Time, comment string) silence.Silence {
		return silence.Silence{ID: id, Version: 1, Matchers: []silence.Matcher{{Name: name, Value: value}}, StartsAt: starts, EndsAt: ends,
			CreatedBy: "changji-admin", Comment: comment, UpdatedAt: starts}
	}
	m.PutSilence(sil(f.OwnSilence, silence.LabelSite, "STH-D1", now.Add(-time.Hour), now.Add(3*time.Hour), "水源地在线监测仪季度校准"))
	m.PutSilence(sil(f.RiverSilence, silence.LabelRiver, "toutun", now.Add(-30*time.Minute), now.Add(6*time.Hour), "头屯河全线通信改造"))
	m.PutSilence(sil(f.OutsideSilence, silence.LabelSite, "TTH-S1", now.Add(-2*time.Hour), now.Add(2*time.Hour), "兵团站点维护"))
	old := sil(f.ExpiredSilence, silence.LabelSite, "STH-S1", now.Add(-5*time.Hour), now.Add(-time.Hour), "上次校准")
	m.PutSilence(old)
	return f
}

// wobble varies a value deterministically by ±frac around base; pH and DO vary less.
func wobble(param string, base, x, frac float64) float64 {
	switch param {
	case "ph":
		frac /= 5
	case "do":
		frac /= 2
	}
	return base * (1 + frac*math.Sin(x*0.7))
}
