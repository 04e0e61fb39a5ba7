package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// tc3Check is the test's own check of a TC3-HMAC-SHA256 request, written from Tencent
// Cloud's documented algorithm ("签名方法 v3") apart from TC3Authorization: it parses the
// Authorization header, rebuilds the canonical request from the headers the request names
// in SignedHeaders (as the server received them), and recomputes the signature with the
// secret key. No published example was at hand to pin it to (the documentation's keys are
// masked), so it is checked against the sender only through this independent rebuild.
func tc3Check(r *http.Request, body []byte, secretID, secretKey string) error {
	auth := r.Header.Get("Authorization")
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != "TC3-HMAC-SHA256" {
		return fmt.Errorf("algorithm %q", alg)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 4 || scope[0] != secretID || scope[2] != "sms" || scope[3] != "tc3_request" {
		return fmt.Errorf("credential %q", fields["Credential"])
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return fmt.Errorf("X-TC-Timestamp: %w", err)
	}
	if date := time.Unix(ts, 0).UTC().Format("2006-01-02"); scope[1] != date {
		return fmt.Errorf("credential date %s, timestamp's %s", scope[1], date)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.Contains(signed, "content-type") || !slices.Contains(signed, "host") {
		return fmt.Errorf("signed headers %q lack content-type or host", fields["SignedHeaders"])
	}
	var headers strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers.WriteString(h + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	canonical := strings.Join([]string{r.Method, "/", r.URL.RawQuery, headers.String(), fields["SignedHeaders"], sum(body)}, "\n")
	toSign := strings.Join([]string{"TC3-HMAC-SHA256", r.Header.Get("X-TC-Timestamp"), strings.Join(scope[1:], "/"), sum([]byte(canonical))}, "\n")
	k := []byte("TC3" + secretKey)
	for _, part := range []string{scope[1], "sms", "tc3_request"} {
		h := hmac.New(sha256.New, k)
		io.WriteString(h, part)
		k = h.Sum(nil)
	}
	h := hmac.New(sha256.New, k)
	io.WriteString(h, toSign)
	if want := hex.EncodeToString(h.Sum(nil)); fields["Signature"] != want {
		return fmt.Errorf("signature %s, want %s", fields["Signature"], want)
	}
	return nil
}

// tencentServer is a local SendSms endpoint of API 3.0 that checks each request with
// tc3Check and answers as Tencent Cloud does: AuthFailure.SignatureFailure when the
// signature does not hold, else the scripted answer (HTTP 200 either way).
func tencentServer(t *testing.T, secretKey, answer string) (*httptest.Server, chan map[string]any) {
	t.Helper()
	got := make(chan map[string]any, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		got <- req
		if r.Header.Get("X-TC-Action") != "SendSms" || r.Header.Get("X-TC-Version") != "2021-01-11" {
			io.WriteString(w, `{"Response":{"Error":{"Code":"InvalidAction","Message":"no such action"},"RequestId":"T0"}}`)
			return
		}
		if err := tc3Check(r, body, "AKIDtestSecretId", secretKey); err != nil {
			fmt.Fprintf(w, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":%q},"RequestId":"T1"}}`, err.Error())
			return
		}
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func tencentAccount(endpoint, secret string) *SMSConfig {
	return &SMSConfig{
		Provider: SMSProviderTencent, Endpoint: endpoint, AccessKeyID: "AKIDtestSecretId", AccessKeySecret: secret,
		SDKAppID: "1400006666", SignName: "河湖预警", ParamMaxRunes: 12, Templates: map[string]SMSTemplate{
			"default":    {Code: "449739"},
			"escalation": {Code: "449740", Params: []string{"level", "subject"}},
		},
	}
}

const tencentSecret = "tencent-SECRET-do-not-leak"

func TestTencentSMSAnswersDecideTheOutcome(t *testing.T) {
	sent := func(code, text string) string {
		return fmt.Sprintf(`{"Response":{"SendStatusSet":[{"SerialNo":"2028","PhoneNumber":"+8613800138000","Fee":1,"Code":%q,"Message":%q,"IsoCode":"CN"}],"RequestId":"T"}}`, code, text)
	}
	tests := []struct {
		name        string
		signWith    string
		answer      string
		ok, perm    bool
		wantRetryIn time.Duration
		wantInErr   string
	}{
		{"the number's Code Ok is sent", tencentSecret, sent("Ok", "send success"), true, false, 0, ""},
		{"a wrong secret key fails the signature check, permanently", "another", sent("Ok", ""), false, true, 0, "AuthFailure.SignatureFailure"},
		{"a request error with HTTP 200 is a failure", tencentSecret, `{"Response":{"Error":{"Code":"FailedOperation.TemplateIncorrectOrUnapproved","Message":"模板未审批"},"RequestId":"T"}}`, false, true, 0, "TemplateIncorrectOrUnapproved"},
		{"a number's refusal with HTTP 200 is a failure", tencentSecret, sent("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"), false, true, 0, "IncorrectPhoneNumber"},
		{"the thirty-second limit of a number waits thirty seconds", tencentSecret, sent("LimitExceeded.PhoneNumberThirtySecondLimit", "30秒内发送条数超限"), false, false, 30 * time.Second, "throttled"},
		{"the hourly limit of a number waits an hour", tencentSecret, sent("LimitExceeded.PhoneNumberOneHourLimit", "1小时内发送条数超限"), false, false, time.Hour, "throttled"},
		{"the API's frequency limit waits a minute", tencentSecret, `{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"请求频率超限"},"RequestId":"T"}}`, false, false, time.Minute, "RequestLimitExceeded"},
		{"an internal error is retried", tencentSecret, `{"Response":{"Error":{"Code":"InternalError.Timeout","Message":"超时"},"RequestId":"T"}}`, false, false, 0, "InternalError.Timeout"},
		{"an answer without Response is not known to be sent: retried", tencentSecret, `<html>portal</html>`, false, false, 0, "without Tencent Cloud's Response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := tencentServer(t, tencentSecret, tt.answer)
			s := &TencentSMS{Client: srv.Client()}
			err := s.Send(context.Background(), tencentAccount(srv.URL, tt.signWith), Target{Channel: ChannelSMS, Address: "13800138000"}, msg)
			if (err == nil) != tt.ok || IsPermanent(err) != tt.perm {
				t.Fatalf("err %v, permanent %v; want ok %v, permanent %v", err, IsPermanent(err), tt.ok, tt.perm)
			}
			if d, has := RetryAfter(err); d != tt.wantRetryIn || has != (tt.wantRetryIn > 0) {
				t.Errorf("retry after %v (%v), want %v", d, has, tt.wantRetryIn)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q lacks %q", err, tt.wantInErr)
			}
		})
	}
}

func TestTencentSMSRequestCarriesTheTemplateOfTheKind(t *testing.T) {
	tests := []struct {
		name       string
		m          Message
		phone      string
		wantPhone  string
		wantTplID  string
		wantParams []string
	}{
		{"a mainland number gets +86; the default template has the subject, cut at param_max_runes", msg, "13800138000", "+8613800138000", "449739",
			[]string{"【IV级·蓝色预警】八…"}},
		{"an escalation's params go in the template's order", func() Message { m := msg; m.Kind, m.Level, m.Subject = "escalation", "IV", "短标题"; return m }(),
			"+85291234567", "+85291234567", "449740", []string{"IV", "短标题"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := tencentServer(t, tencentSecret, `{"Response":{"SendStatusSet":[{"Code":"Ok"}],"RequestId":"T"}}`)
			now := time.Date(2026, 12, 3, 23, 59, 59, 0, time.FixedZone("CST", 8*3600)) // the UTC date is the credential's
			s := &TencentSMS{Client: srv.Client(), Now: func() time.Time { return now }}
			if err := s.Send(context.Background(), tencentAccount(srv.URL, tencentSecret), Target{Channel: ChannelSMS, Address: tt.phone}, tt.m); err != nil {
				t.Fatal(err)
			}
			req := <-got
			want := map[string]any{
				"PhoneNumberSet": []any{tt.wantPhone}, "SmsSdkAppId": "1400006666", "SignName": "河湖预警",
				"TemplateId": tt.wantTplID, "SessionContext": "ntf-1",
			}
			for k, v := range want {
				if fmt.Sprint(req[k]) != fmt.Sprint(v) {
					t.Errorf("%s = %v, want %v", k, req[k], v)
				}
			}
			if got := fmt.Sprint(req["TemplateParamSet"]); got != fmt.Sprint(tt.wantParams) {
				t.Errorf("TemplateParamSet %s, want %v", got, tt.wantParams)
			}
		})
	}
}

func TestContactsAcceptATencentAccount(t *testing.T) {
	tests := []struct {
		name string
		cfg  SMSConfig
		want string
	}{
		{"with its SmsSdkAppId", *tencentAccount("", "s"), ""},
		{"without SmsSdkAppId", func() SMSConfig { c := *tencentAccount("", "s"); c.SDKAppID = ""; return c }(), "sdk_app_id is empty"},
		{"Aliyun has no SmsSdkAppId", func() SMSConfig { c := *smsAccount("", "s"); c.SDKAppID = "1400006666"; return c }(), "sdk_app_id is Tencent Cloud's"},
		{"a negative param_max_runes", func() SMSConfig { c := *tencentAccount("", "s"); c.ParamMaxRunes = -1; return c }(), "param_max_runes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Join(tt.cfg.validate(), "; ")
			if (tt.want == "") != (bad == "") || !strings.Contains(bad, tt.want) {
				t.Errorf("problems %q, want %q", bad, tt.want)
			}
		})
	}
}

func TestChannelsSendSMSThroughTheProviderOfTheContactsFile(t *testing.T) {
	n, err := network.Load("../../configs/sites.yaml")
	if err != nil {
		t.Fatal(err)
	}
	aliyun := newAliyunServer(t, smsSecret, 200, `{"Code":"OK"}`)
	tencent, tencentGot := tencentServer(t, tencentSecret, `{"Response":{"SendStatusSet":[{"Code":"Ok"}],"RequestId":"T"}}`)
	tests := []struct {
		name, section string
		reached       func() bool
	}{
		{"aliyun", fmt.Sprintf(`{provider: aliyun, endpoint: %q, access_key_id: LTAI5tTESTKEYID, access_key_secret: %q, sign_name: 河湖预警, templates: {default: {code: SMS_1}}}`, aliyun.srv.URL, smsSecret),
			func() bool { return len(aliyun.got) == 1 }},
		{"tencent", fmt.Sprintf(`{provider: tencent, endpoint: %q, access_key_id: AKIDtestSecretId, access_key_secret: %q, sdk_app_id: "1400006666", sign_name: 河湖预警, templates: {default: {code: "449739"}}}`, tencent.URL, tencentSecret),
			func() bool { return len(tencentGot) == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contacts, err := ParseContacts([]byte("roles: {eeb: 生态环境局}\nsms: "+tt.section+"\ncontacts: [{jurisdiction: urumqi, role: eeb, people: [{name: 手机, channel: sms, target: \"13800138000\"}]}]\n"), n, "")
			if err != nil {
				t.Fatal(err)
			}
			err = NewChannels(time.Second, nil, WithSecrets(contacts, "")).Send(context.Background(), Target{Channel: ChannelSMS, Address: "13800138000"}, msg)
			if err != nil || !tt.reached() {
				t.Errorf("sent through %s: err %v, reached %v", tt.name, err, tt.reached())
			}
		})
	}
	if err := NewChannels(time.Second, nil).Send(context.Background(), Target{Channel: ChannelSMS, Address: "13800138000"}, msg); !IsPermanent(err) {
		t.Errorf("sms without a provider account: %v, want a permanent error", err)
	}
}
