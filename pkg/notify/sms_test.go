package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// docSign is the test's own implementation of Aliyun's RPC signature (SignatureVersion
// 1.0), written from the documented algorithm and apart from AliyunRPCSignature: percent-
// encode by url.QueryEscape with "+" → "%20", "*" → "%2A", "%7E" → "~"; sort; join;
// StringToSign = METHOD&%2F&encode(query); base64(HMAC-SHA1(secret&, StringToSign)).
func docSign(method string, params url.Values, secret string) string {
	enc := func(s string) string {
		return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
	}
	var keys []string
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		q = append(q, enc(k)+"="+enc(params.Get(k)))
	}
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	io.WriteString(mac, method+"&"+enc("/")+"&"+enc(strings.Join(q, "&")))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// The worked example of Aliyun's SMS documentation ("HTTP协议及签名", SendSms with
// AccessKeyId testId and AccessKeySecret testSecret), from memory of the published page:
// its signature is zJDF+Lrzhj/ThnlvIToysFRq6t4=. The test's own signer must give it, and
// so must the sender's.
var aliyunDocExample = map[string]string{
	"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
	"PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
	"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
	"SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": `{"customer":"test"}`,
	"Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}

func TestAliyunSignatureMatchesThePublishedExample(t *testing.T) {
	vals := url.Values{}
	for k, v := range aliyunDocExample {
		vals.Set(k, v)
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"the test's signer on the documented example", docSign("GET", vals, "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4="},
		{"the sender's signer on the documented example", AliyunRPCSignature("GET", aliyunDocExample, "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4="},
		{"the sender's signer ignores a Signature parameter", AliyunRPCSignature("GET", with(aliyunDocExample, "Signature", "x"), "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4="},
		{"POST signs another string than GET", AliyunRPCSignature("POST", aliyunDocExample, "testSecret"), docSign("POST", vals, "testSecret")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("signature %s, want %s", tt.got, tt.want)
			}
		})
	}
	if AliyunRPCSignature("POST", aliyunDocExample, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4=" {
		t.Error("the method is not part of the signed string")
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

// aliyunServer is a local SendSms endpoint: it checks the request's signature with
// docSign and the account's secret, and answers as Aliyun does (SignatureDoesNotMatch with
// HTTP 400), or with the scripted status and body once the signature holds.
type aliyunServer struct {
	srv  *httptest.Server
	got  chan url.Values
	hits int
}

func newAliyunServer(t *testing.T, secret string, status int, answer string) *aliyunServer {
	t.Helper()
	a := &aliyunServer{got: make(chan url.Values, 10)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits++
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		a.got <- r.PostForm
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("Signature") != docSign(r.Method, r.PostForm, secret) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:%s","RequestId":"R1"}`, r.PostForm.Encode())
			return
		}
		if _, err := time.Parse("2006-01-02T15:04:05Z", r.PostForm.Get("Timestamp")); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"Code":"InvalidTimeStamp.Format","Message":"bad timestamp","RequestId":"R2"}`)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func smsAccount(endpoint, secret string) *SMSConfig {
	return &SMSConfig{
		Provider: SMSProviderAliyun, Endpoint: endpoint, AccessKeyID: "LTAI5tTESTKEYID", AccessKeySecret: secret,
		SignName: "河湖预警", Templates: map[string]SMSTemplate{
			"default":    {Code: "SMS_100001"},
			"escalation": {Code: "SMS_100002", Params: []string{"subject", "level", "incident"}},
		},
	}
}

const smsSecret = "aliyun-SECRET-do-not-leak"

func TestAliyunSMSAnswersDecideTheOutcome(t *testing.T) {
	tests := []struct {
		name         string
		signWith     string
		status       int
		answer       string
		ok, perm     bool
		wantRetryIn  time.Duration // 0: no hint
		wantInErrMsg string
	}{
		{"Code OK is sent", smsSecret, 200, `{"Code":"OK","Message":"OK","RequestId":"R","BizId":"900619746936498440^0"}`, true, false, 0, ""},
		{"a wrong secret is refused by the signature check, permanently", "another-secret", 200, `{"Code":"OK"}`, false, true, 0, "SignatureDoesNotMatch"},
		{"HTTP 200 with a refusal code is a permanent failure", smsSecret, 200, `{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号","RequestId":"R"}`, false, true, 0, "isv.MOBILE_NUMBER_ILLEGAL"},
		{"HTTP 200 with a template refusal is permanent", smsSecret, 200, `{"Code":"isv.SMS_TEMPLATE_ILLEGAL","Message":"模板不合法","RequestId":"R"}`, false, true, 0, "isv.SMS_TEMPLATE_ILLEGAL"},
		{"the business flow control is retried after a minute", smsSecret, 200, `{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1","RequestId":"R"}`, false, false, time.Minute, "throttled"},
		{"API throttling with HTTP 400 is retried after a minute", smsSecret, 400, `{"Code":"Throttling.User","Message":"Request was denied due to user flow control.","RequestId":"R"}`, false, false, time.Minute, "Throttling.User"},
		{"a provider system error is retried", smsSecret, 200, `{"Code":"isp.SYSTEM_ERROR","Message":"系统错误","RequestId":"R"}`, false, false, 0, "isp.SYSTEM_ERROR"},
		{"a gateway's 502 page is retried", smsSecret, 502, `<html>bad gateway</html>`, false, false, 0, "HTTP 502"},
		{"a 200 page that is not Aliyun's JSON is not known to be sent: retried", smsSecret, 200, `<html>portal</html>`, false, false, 0, "without Aliyun's Code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAliyunServer(t, smsSecret, tt.status, tt.answer)
			s := &AliyunSMS{Client: a.srv.Client()}
			err := s.Send(context.Background(), smsAccount(a.srv.URL, tt.signWith), Target{Channel: ChannelSMS, Address: "13800138000"}, msg)
			if (err == nil) != tt.ok || IsPermanent(err) != tt.perm {
				t.Fatalf("err %v, permanent %v; want ok %v, permanent %v", err, IsPermanent(err), tt.ok, tt.perm)
			}
			if d, has := RetryAfter(err); d != tt.wantRetryIn || has != (tt.wantRetryIn > 0) {
				t.Errorf("retry after %v (%v), want %v", d, has, tt.wantRetryIn)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantInErrMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantInErrMsg)
			}
		})
	}
}

func TestAliyunSMSRequestCarriesTheTemplateOfTheKind(t *testing.T) {
	long := strings.Repeat("水", 50)
	tests := []struct {
		name             string
		m                Message
		phone, wantPhone string
		wantCode         string
		wantParam        map[string]string
	}{
		{"a kind without its own template uses the default, with the subject", msg, "13800138000", "13800138000", "SMS_100001", map[string]string{"subject": msg.Subject}},
		{"an escalation uses its template and its variables", func() Message { m := msg; m.Kind, m.Level = "escalation", "IV"; return m }(),
			"+8613800138000", "8613800138000", "SMS_100002", map[string]string{"subject": msg.Subject, "level": "IV", "incident": "inc-1"}},
		{"a variable longer than Aliyun's 35 characters is cut; a number abroad loses its +", func() Message { m := msg; m.Subject = long; return m }(),
			"+85291234567", "85291234567", "SMS_100001", map[string]string{"subject": strings.Repeat("水", 34) + "…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAliyunServer(t, smsSecret, 200, `{"Code":"OK"}`)
			now := time.Date(2026, 12, 4, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))
			s := &AliyunSMS{Client: a.srv.Client(), Now: func() time.Time { return now }, Nonce: func() string { return "nonce-1" }}
			if err := s.Send(context.Background(), smsAccount(a.srv.URL, smsSecret), Target{Channel: ChannelSMS, Address: tt.phone}, tt.m); err != nil {
				t.Fatal(err)
			}
			f := <-a.got
			want := map[string]string{
				"Action": "SendSms", "Version": "2017-05-25", "Format": "JSON", "RegionId": "cn-hangzhou",
				"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": "nonce-1",
				"Timestamp": "2026-12-04T02:30:00Z", "AccessKeyId": "LTAI5tTESTKEYID", "PhoneNumbers": tt.wantPhone,
				"SignName": "河湖预警", "TemplateCode": tt.wantCode, "OutId": "ntf-1",
			}
			for k, v := range want {
				if f.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, f.Get(k), v)
				}
			}
			var params map[string]string
			if err := json.Unmarshal([]byte(f.Get("TemplateParam")), &params); err != nil {
				t.Fatalf("TemplateParam %q: %v", f.Get("TemplateParam"), err)
			}
			if fmt.Sprint(params) != fmt.Sprint(tt.wantParam) {
				t.Errorf("TemplateParam %v, want %v", params, tt.wantParam)
			}
		})
	}
}

func TestSMSThroughChannelsKeepsTheSecretAndNumberOut(t *testing.T) {
	// The provider echoes the request in its error, as Aliyun's SignatureDoesNotMatch
	// does: neither the secret nor the phone number may reach the error text or a log.
	a := newAliyunServer(t, "the-provider-expects-another", 200, `{"Code":"OK"}`)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "aliyun.secret")
	if err := os.WriteFile(secretFile, []byte(smsSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := network.Load("../../configs/sites.yaml")
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := ParseContacts(fmt.Appendf(nil, `
roles: {eeb: 生态环境局}
sms:
  provider: aliyun
  endpoint: %q
  access_key_id: LTAI5tTESTKEYID
  access_key_secret_file: %q
  sign_name: 河湖预警
  templates: {default: {code: SMS_100001}}
contacts:
  - {jurisdiction: urumqi, role: eeb, people: [{name: 值班手机, channel: sms, target: "13800138000"}]}
`, a.srv.URL, secretFile), n, "")
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChannels(time.Second, nil, WithSecrets(contacts, ""))
	m := msg
	m.Recipient = "值班手机"
	err = ch.Send(context.Background(), Target{Channel: ChannelSMS, Address: "13800138000"}, m)
	if !IsPermanent(err) {
		t.Fatalf("a refused signature: %v, want a permanent error", err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Warn("delivery failed", "err", err)
	for _, leak := range []string{smsSecret, "13800138000", url.QueryEscape(smsSecret)} {
		if strings.Contains(err.Error(), leak) || strings.Contains(logged.String(), leak) {
			t.Errorf("%q leaked: %s", leak, logged.String())
		}
	}
	f := <-a.got
	if f.Get("Signature") != docSign(http.MethodPost, f, smsSecret) {
		t.Error("the request was not signed with the secret of access_key_secret_file")
	}
	// A rotated secret is read at the next send, without a reload.
	if err := os.WriteFile(secretFile, []byte("the-provider-expects-another"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(context.Background(), Target{Channel: ChannelSMS, Address: "13800138000"}, m); err != nil {
		t.Errorf("after rotating the secret file: %v", err)
	}
}

func TestContactsRefuseABadSMSSection(t *testing.T) {
	n, err := network.Load("../../configs/sites.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const person = `contacts: [{jurisdiction: urumqi, role: eeb, people: [{name: 手机, channel: sms, target: "%s"}]}]`
	good := `sms: {provider: aliyun, access_key_id: ID, access_key_secret_file: /run/secrets/sms, sign_name: 河湖预警, templates: {default: {code: SMS_1}}}`
	tests := []struct {
		name, sms, phone, want string
	}{
		{"a complete section and a phone number load", good, "13800138000", ""},
		{"a number abroad with its country code loads", good, "+85291234567", ""},
		{"sms contacts need the section", "", "13800138000", "no sms section"},
		{"a target that is not a phone number", good, "duty@example.org", "needs a phone number"},
		{"an unknown provider", strings.Replace(good, "aliyun", "twilio", 1), "13800138000", `provider "twilio"`},
		{"no secret", strings.Replace(good, "access_key_secret_file: /run/secrets/sms, ", "", 1), "13800138000", "exactly one of access_key_secret"},
		{"both secrets", strings.Replace(good, "sign_name", "access_key_secret: x, sign_name", 1), "13800138000", "exactly one of access_key_secret"},
		{"no default template", strings.Replace(good, "default:", "assign:", 1), "13800138000", "no default"},
		{"a template variable that is no field of a message", strings.Replace(good, "code: SMS_1", "code: SMS_1, params: [phone]", 1), "13800138000", `param "phone"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "roles: {eeb: 生态环境局}\n" + tt.sms + "\n" + fmt.Sprintf(person, tt.phone) + "\n"
			c, err := ParseContacts([]byte(doc), n, "")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.SMS() == nil || c.SMS().Provider != SMSProviderAliyun {
					t.Errorf("sms section %+v", c.SMS())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one naming %q", err, tt.want)
			}
		})
	}
}
