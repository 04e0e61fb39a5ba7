package incident

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOutboxRecordHoldsNoAddress(t *testing.T) {
	o := Outgoing{Key: "ntf-1", Jurisdiction: "urumqi", Role: "eeb", Name: "群", Channel: "wecom",
		Target: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-ROBOT-KEY-0000"}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SECRET-ROBOT-KEY") || strings.Contains(string(b), "qyapi") {
		t.Errorf("state record holds the address: %s", b)
	}
}
