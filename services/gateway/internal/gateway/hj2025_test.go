package gateway

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

func TestBackfillPacketsArePublishedMarkedAndCounted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rf       bool
		backfill float64
	}{
		{"a live 2025 upload is not back-fill", false, 0},
		{"an RF=1 upload is published as back-fill", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.dial(t)
			p := hourPacket(t, "20240601100000001", dataTime, hj212.Period("w21003", 1, 1, 1, "N"), hj212.Period("w01018", 9, 9, 9, "N"))
			p.Flag, p.RF = hj212.NewFlag(hj212.V2025, true, false), tc.rf
			if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
				t.Fatalf("Upload: %v", err)
			}
			rs := h.readings.readings(t)
			if len(rs) != 2 {
				t.Fatalf("%d readings, want 2", len(rs))
			}
			for i, r := range rs {
				if r.Backfill != tc.rf {
					t.Errorf("reading %s: backfill %v, want %v", r.Parameter, r.Backfill, tc.rf)
				}
				if has := strings.Contains(string(h.readings.msgs[i].Value), `"backfill"`); has != tc.rf {
					t.Errorf("JSON %s: backfill key present %v, want %v (omitted on live readings)", h.readings.msgs[i].Value, has, tc.rf)
				}
			}
			if got := metricValue(h.gw.m.backfill); got != tc.backfill {
				t.Errorf("backfill metric %v, want %v", got, tc.backfill)
			}
		})
	}
}

// legacySite is a station configured HJ 212-2017 (sites.yaml station.protocol) whose
// logger sends Flag 8/9, as some did before HJ 212-2025.
const legacySite = `
  - id: STH-L
    name: 老数采仪断面
    kind: section
    river: santun
    km: 45
    jurisdiction: changji
    target_class: III
    station: {mn: "65230100000003", password: "123456", protocol: hj212-2017}
`

func TestConfiguredEditionIsUsedAndAFlagThatDisagreesIsCounted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mn       string
		flag     hj212.Flag
		answer   hj212.Flag
		mismatch float64
	}{
		{"a 2017 station sending Flag 9 is answered in 2017 and counted", "65230100000003", 9, hj212.NewFlag(hj212.V2017, false, false), 1},
		{"a 2017 station sending Flag 5 agrees", "65230100000003", 5, hj212.NewFlag(hj212.V2017, false, false), 0},
		{"a station without protocol sending Flag 9 is 2025", sectionMN, 9, hj212.NewFlag(hj212.V2025, false, false), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessSites(t, testSites+legacySite, nil)
			c := h.dial(t)
			p := hourPacket(t, "20240601100000001", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
			p.MN, p.Flag = tc.mn, tc.flag
			if err := c.Send(ctxT(t, 5*time.Second), p); err != nil {
				t.Fatal(err)
			}
			a := receive(t, c, 5*time.Second)
			if a.CN != hj212.CNDataResponse || a.Flag != tc.answer {
				t.Errorf("answer CN %s Flag %d, want 9014 with Flag %d", a.CN, a.Flag, tc.answer)
			}
			if rs := h.readings.readings(t); len(rs) != 1 {
				t.Fatalf("%d readings, want 1", len(rs))
			}
			m := h.gw.m.editionMismatch.WithLabelValues("STH-L", "hj212-2017", "hj212-2025")
			if got := metricValue(m); got != tc.mismatch {
				t.Errorf("edition mismatch metric %v, want %v", got, tc.mismatch)
			}
		})
	}
}

// modbusCRC is CRC-16/MODBUS, computed here bit by bit, independently of pkg/hj212.
func modbusCRC(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// modbusSite is a station whose logger computes CRC-16/MODBUS and is allowed to.
const modbusSite = `
  - id: STH-M
    name: MODBUS数采仪断面
    kind: section
    river: santun
    km: 46
    jurisdiction: changji
    target_class: III
    station: {mn: "65230100000004", password: "123456", compat: [modbus_crc]}
`

func TestModbusCRCIsAnsweredInKindOnlyForAStationAllowedIt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mn, site string
		answered bool
	}{
		{"a station with compat modbus_crc is stored and answered with a MODBUS CRC", "65230100000004", "STH-M", true},
		{"a strict station's MODBUS frame is refused and not answered", sectionMN, "STH-S2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessSites(t, testSites+modbusSite, nil)
			c := h.dial(t)
			p := hourPacket(t, "20240601100000001", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
			p.MN = tc.mn
			seg := p.AppendSegment(nil)
			frame := fmt.Sprintf("##%04d%s%04X\r\n", len(seg), seg, modbusCRC(seg))
			if err := c.SendRaw(ctxT(t, 5*time.Second), []byte(frame)); err != nil {
				t.Fatal(err)
			}
			if !tc.answered {
				expectNoAnswerBefore(t, c, "20240601100000999")
				rj := h.rejected.rejections(t)
				if len(rj) != 1 || rj[0].Reason != hj212.ReasonCRC || !strings.Contains(rj[0].Detail, "station.compat: modbus_crc") {
					t.Fatalf("rejections %+v, want one crc refusal naming station.compat: modbus_crc", rj)
				}
				return
			}
			c.Conn().SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c.Conn()).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			data := line[6 : len(line)-6]
			if !strings.Contains(data, "CN=9014") || line[len(line)-6:len(line)-2] != fmt.Sprintf("%04X", modbusCRC([]byte(data))) {
				t.Fatalf("answer %q is not a 9014 with a MODBUS CRC", line)
			}
			if rs := h.readings.readings(t); len(rs) != 1 {
				t.Fatalf("%d readings, want 1", len(rs))
			}
			if got := metricValue(h.gw.m.deviations.WithLabelValues(tc.site, "modbus_crc")); got != 1 {
				t.Errorf("deviations metric %v, want 1", got)
			}
		})
	}
}

func TestHJ2025CodesAreRefusedByNameAndAnswered(t *testing.T) {
	pkt := func(st, cn, cp string) hj212.Packet {
		return hj212.Packet{QN: "20240601100000070", ST: st, CN: cn, PW: "123456", MN: sectionMN, Flag: hj212.NewFlag(hj212.V2025, true, false), CP: cp}
	}
	electricity := hourPacket(t, "20240601100000070", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	electricity.ST, electricity.Flag = "44", hj212.NewFlag(hj212.V2025, true, false)
	for _, tc := range []struct {
		name   string
		p      hj212.Packet
		reason string
		detail string
		answer string // the answer's CN; "" none
	}{
		{"hardware serial for MN assignment (1001)", pkt("21", "1001", "SN=ABC123"), ReasonUnsupportedCN, "CN 1001 (上传数采仪硬件序列号", hj212.CNDataResponse},
		{"key rotation (1014) from the field", pkt("21", "1014", ""), ReasonUnsupportedCN, "SM4 key rotation), new in HJ 212-2025)", hj212.CNDataResponse},
		{"noise single value (2052)", pkt("23", "2052", "DataTime=20240601090000;LA-Rtd=55"), ReasonUnsupportedCN, "噪声单值", hj212.CNDataResponse},
		{"set MN (1002) is a host command", pkt("21", "1002", "MN=X"), ReasonUnsupportedCN, "host-to-field", hj212.CNRequestResponse},
		{"data under ST 44 (electricity use)", electricity, ReasonSystemCode, "ST 44 (用电监控 (HJ 212-2025))", hj212.CNDataResponse},
		{"raw data (2013)", pkt("21", "2013", "DataTime=20240601090000"), ReasonUnsupportedCN, "CN 2013 is an upload", hj212.CNDataResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.dial(t)
			if err := c.Send(ctxT(t, 5*time.Second), tc.p); err != nil {
				t.Fatal(err)
			}
			if a := receive(t, c, 5*time.Second); a.CN != tc.answer || a.QN != tc.p.QN {
				t.Fatalf("answer %s QN=%s, want %s", a.CN, a.QN, tc.answer)
			}
			rj := h.rejected.rejections(t)
			if len(rj) != 1 || rj[0].Reason != tc.reason || !strings.Contains(rj[0].Detail, tc.detail) {
				t.Fatalf("rejections %+v, want one %s saying %q", rj, tc.reason, tc.detail)
			}
			if n := len(h.readings.readings(t)); n != 0 {
				t.Fatalf("%d readings", n)
			}
		})
	}
}

// sm4Site is a station with an SM4 key (and a previous one, during a rotation).
const sm4Site = `
  - id: STH-E
    name: 加密断面
    kind: section
    river: santun
    km: 47
    jurisdiction: changji
    target_class: III
    station: {mn: "65230100000005", password: "123456", sm4_keys: ["8f3ae1c9027b44d5a6e0193c7d2b5f18", "30303030303030303030303030303030"]}
`

func TestEncryptedUploadsAreDecryptedWithTheStationsKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mn     string
		key    string
		reason string // "" stored
	}{
		{"current key", "65230100000005", "8f3ae1c9027b44d5a6e0193c7d2b5f18", ""},
		{"previous key, still listed", "65230100000005", "30303030303030303030303030303030", ""},
		{"unknown key", "65230100000005", "00112233445566778899aabbccddeeff", hj212.ReasonSM4},
		{"station without keys", sectionMN, "8f3ae1c9027b44d5a6e0193c7d2b5f18", hj212.ReasonSM4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessSites(t, testSites+sm4Site, nil)
			c := h.dial(t)
			p := hourPacket(t, "20240601100000080", dataTime, hj212.Period("w21003", 1, 1, 1, "N"), hj212.Period("w01018", 9, 9, 9, "N"))
			p.MN, p.Flag = tc.mn, hj212.NewFlag(hj212.V2025, true, false)
			key, err := hj212.ParseSM4Key(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			frame, err := hj212.EncodeEncrypted(p, key)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.SendRaw(ctxT(t, 5*time.Second), frame); err != nil {
				t.Fatal(err)
			}
			if tc.reason != "" {
				expectNoAnswerBefore(t, c, "20240601100000999")
				rj := h.rejected.rejections(t)
				if len(rj) != 1 || rj[0].Reason != tc.reason || rj[0].Raw != hj212.MaskPassword(string(frame)) {
					t.Fatalf("rejections %+v, want one %s with the frame as received (PW masked)", rj, tc.reason)
				}
				return
			}
			if a := receive(t, c, 5*time.Second); a.CN != hj212.CNDataResponse || a.QN != p.QN {
				t.Fatalf("answer %+v", a)
			}
			if rs := h.readings.readings(t); len(rs) != 2 {
				t.Fatalf("%d readings, want 2", len(rs))
			}
			if got := metricValue(h.gw.m.encrypted.WithLabelValues("STH-E")); got != 1 {
				t.Errorf("encrypted metric %v, want 1", got)
			}
		})
	}
}
