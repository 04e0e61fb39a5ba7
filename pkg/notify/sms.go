package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// SMS providers.
const (
	SMSProviderAliyun  = "aliyun"  // Aliyun 短信服务 (dysmsapi SendSms)
	SMSProviderTencent = "tencent" // Tencent Cloud 短信 (sms SendSms, API 3.0)
)

// Defaults of the Aliyun SMS API (dysmsapi, version 2017-05-25).
const (
	AliyunSMSEndpoint = "https://dysmsapi.aliyuncs.com/"
	AliyunSMSRegion   = "cn-hangzhou"
	aliyunSMSVersion  = "2017-05-25"
)

// DefaultSMSParamRunes is the longest value of one template variable unless the sms
// section says otherwise (param_max_runes): Aliyun refuses a notification template's
// variable longer than 35 characters (isv.PARAM_LENGTH_LIMIT). A longer value is cut, with
// "…", rather than have the provider refuse the message.
const DefaultSMSParamRunes = 35

// SMSParamFields are the fields of a notification a template variable may carry; a
// template's params name them, and the variables have the same names.
var smsParamFields = []string{"subject", "level", "incident", "kind", "recipient", "jurisdiction", "role", "body", "link"}

// SMSTemplate is one approved template of the provider: its code, and the variables it
// declares (each filled from the notification field of the same name, SMSParamFields).
type SMSTemplate struct {
	Code string `yaml:"code" json:"code"`
	// Params are the template's variables (default: subject). A template may not declare
	// a variable that is not sent, nor be sent one it does not declare.
	Params []string `yaml:"params" json:"params"`
}

// SMSConfig is the provider account of the sms channel (the contacts file's sms
// section). Its secret is read when a message is sent, never copied into a delivery.
type SMSConfig struct {
	Provider string `yaml:"provider" json:"provider"` // aliyun or tencent
	// Endpoint is the API's base URL (default AliyunSMSEndpoint, TencentSMSEndpoint).
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// Region is the API's region (default cn-hangzhou, ap-guangzhou).
	Region string `yaml:"region" json:"region"`
	// AccessKeyID is Aliyun's AccessKey ID, or Tencent Cloud's SecretId.
	AccessKeyID string `yaml:"access_key_id" json:"access_key_id"`
	// SDKAppID is Tencent Cloud's SmsSdkAppId (the SMS application); Aliyun has none.
	SDKAppID string `yaml:"sdk_app_id" json:"sdk_app_id"`
	// ParamMaxRunes is the longest template variable (default DefaultSMSParamRunes): set it
	// to what the provider allows the template's type.
	ParamMaxRunes int `yaml:"param_max_runes" json:"param_max_runes"`
	// AccessKeySecret (Tencent: SecretKey), or better AccessKeySecretFile (a file holding only the secret, so
	// that the contacts file itself holds no credential): exactly one of them is set.
	AccessKeySecret     string `yaml:"access_key_secret" json:"-"`
	AccessKeySecretFile string `yaml:"access_key_secret_file" json:"access_key_secret_file"`
	// SignName is the approved signature (短信签名) the provider prints as 【SignName】.
	SignName string `yaml:"sign_name" json:"sign_name"`
	// Templates maps a message kind (assign, warning, escalation, end_of_alert, …) to its
	// approved template (Tencent: the TemplateId, its params in the order {1}, {2}, …);
	// "default" serves every kind without its own.
	Templates map[string]SMSTemplate `yaml:"templates" json:"templates"`
}

var phoneRE = regexp.MustCompile(`^\+?[0-9]{6,15}$`)

// validate reports what is wrong with the section, one problem per entry.
func (c *SMSConfig) validate() []string {
	var bad []string
	switch c.Provider {
	case SMSProviderAliyun:
		if c.SDKAppID != "" {
			bad = append(bad, "sms: sdk_app_id is Tencent Cloud's; Aliyun has none")
		}
	case SMSProviderTencent:
		if c.SDKAppID == "" {
			bad = append(bad, "sms: sdk_app_id is empty (Tencent Cloud's SmsSdkAppId)")
		}
	default:
		bad = append(bad, fmt.Sprintf("sms: provider %q is not one of %s, %s", c.Provider, SMSProviderAliyun, SMSProviderTencent))
	}
	if c.ParamMaxRunes < 0 {
		bad = append(bad, "sms: param_max_runes must not be negative")
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad = append(bad, fmt.Sprintf("sms: endpoint %q is not an http(s) URL", c.Endpoint))
		}
	}
	if c.AccessKeyID == "" {
		bad = append(bad, "sms: access_key_id is empty")
	}
	if (c.AccessKeySecret == "") == (c.AccessKeySecretFile == "") {
		bad = append(bad, "sms: set exactly one of access_key_secret and access_key_secret_file")
	}
	if c.SignName == "" {
		bad = append(bad, "sms: sign_name is empty (the approved 短信签名)")
	}
	if _, ok := c.Templates["default"]; !ok {
		bad = append(bad, "sms: templates has no default (the template of every kind without its own)")
	}
	kinds := make([]string, 0, len(c.Templates))
	for k := range c.Templates {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		tp := c.Templates[k]
		if tp.Code == "" {
			bad = append(bad, fmt.Sprintf("sms: template %s has no code", k))
		}
		for _, p := range tp.Params {
			if !slices.Contains(smsParamFields, p) {
				bad = append(bad, fmt.Sprintf("sms: template %s: param %q is not one of %s", k, p, strings.Join(smsParamFields, ", ")))
			}
		}
	}
	return bad
}

// secret returns the access key secret, read from its file at each send (so that a
// rotated secret is used without a reload).
func (c *SMSConfig) secret() (string, error) {
	if c.AccessKeySecretFile == "" {
		return c.AccessKeySecret, nil
	}
	b, err := os.ReadFile(c.AccessKeySecretFile)
	if err != nil {
		return "", fmt.Errorf("sms: access_key_secret_file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("sms: access_key_secret_file is empty")
	}
	return s, nil
}

// template returns the template of a message kind and its variables filled from m, in the
// order of the template's params.
func (c *SMSConfig) template(m Message) (string, []string, []string) {
	tp, ok := c.Templates[m.Kind]
	if !ok {
		tp = c.Templates["default"]
	}
	params := tp.Params
	if len(params) == 0 {
		params = []string{"subject"}
	}
	fields := map[string]string{
		"subject": m.Subject, "level": m.Level, "incident": m.IncidentID, "kind": m.Kind,
		"recipient": m.Recipient, "jurisdiction": m.Jurisdiction, "role": m.Role, "body": m.Body, "link": m.Link,
	}
	limit := c.ParamMaxRunes
	if limit == 0 {
		limit = DefaultSMSParamRunes
	}
	vals := make([]string, len(params))
	for i, p := range params {
		vals[i] = truncateRunes(fields[p], limit)
		if p == "link" {
			vals[i] = fields[p] // a cut URL leads nowhere; the template's own limit applies
		}
	}
	return tp.Code, params, vals
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// AliyunSMS sends a message as an Aliyun SMS (短信服务 SendSms, an RPC-style API): a form
// POST signed with the RPC signature (SignatureMethod HMAC-SHA1, SignatureVersion 1.0,
// AliyunRPCSignature). The template is chosen by the message's kind and filled from it.
//
// Aliyun answers HTTP 200 with {"Code":"OK",…} on success; any other Code is a failure,
// even with HTTP 200. Throttling codes are retried after a minute (RetryAfterError); a
// system error is retried; every other code is permanent.
type AliyunSMS struct {
	Client *http.Client
	Now    func() time.Time // the signature's timestamp (time.Now when nil)
	Nonce  func() string    // SignatureNonce, unique per request (random when nil)
}

// aliyunThrottled are the codes of Aliyun's flow control: the same message succeeds later.
var aliyunThrottled = []string{"isv.BUSINESS_LIMIT_CONTROL", "Throttling", "Throttling.User", "Throttling.Api", "Throttling.Concurrent"}

// aliyunTransient are failures of the provider, or of a nonce, that a new attempt cures.
var aliyunTransient = []string{"isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError", "SignatureNonceUsed"}

type aliyunAnswer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
	BizID     string `json:"BizId"`
}

// prepare checks that t is a phone number and reads the account's secret: what every
// provider does before it signs.
func (c *SMSConfig) prepare(t Target) (string, error) {
	if !phoneRE.MatchString(t.Address) {
		return "", &PermanentError{Err: errors.New("sms: target is not a phone number")}
	}
	return c.secret()
}

// Send sends m to the phone number t.Address with the account of cfg.
func (a *AliyunSMS) Send(ctx context.Context, cfg *SMSConfig, t Target, m Message) error {
	secret, err := cfg.prepare(t)
	if err != nil {
		return err
	}
	code, names, vals := cfg.template(m)
	vars := make(map[string]string, len(names))
	for i, n := range names {
		vars[n] = vals[i]
	}
	tp, err := json.Marshal(vars)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("sms: template params: %w", err)}
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	nonce := randomNonce
	if a.Nonce != nil {
		nonce = a.Nonce
	}
	region := cfg.Region
	if region == "" {
		region = AliyunSMSRegion
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = AliyunSMSEndpoint
	}
	params := map[string]string{
		"AccessKeyId": cfg.AccessKeyID, "Action": "SendSms", "Format": "JSON", "RegionId": region,
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce(), "SignatureVersion": "1.0",
		"Timestamp": now().UTC().Format("2006-01-02T15:04:05Z"), "Version": aliyunSMSVersion,
		// Aliyun takes the country code without "+" (86…, 852…), and a bare mainland number.
		"PhoneNumbers": strings.TrimPrefix(t.Address, "+"), "SignName": cfg.SignName, "TemplateCode": code,
		"TemplateParam": string(tp), "OutId": m.Key,
	}
	params["Signature"] = AliyunRPCSignature(http.MethodPost, params, secret)
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("sms: %w", err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(HeaderIdempotencyKey, m.Key)
	return doSMS(a.Client, req, "sms aliyun")
}

// doSMS sends req and reads Aliyun's answer. Aliyun gives its error code in the body with
// HTTP 200 or with a 4xx, so the code decides before the status does.
func doSMS(c *http.Client, req *http.Request, what string) error {
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	var a aliyunAnswer
	b, _ := readLimited(resp)
	if json.Unmarshal(b, &a) != nil || a.Code == "" {
		if err := classify(what, resp.StatusCode, b); err != nil {
			return err
		}
		return fmt.Errorf("%s: a %d answer without Aliyun's Code, not known to be sent: %s", what, resp.StatusCode, trim(b))
	}
	switch {
	case a.Code == "OK":
		return nil
	case slices.Contains(aliyunThrottled, a.Code):
		return &RetryAfterError{After: time.Minute, Err: fmt.Errorf("%s: throttled: %s %s (request %s)", what, a.Code, a.Message, a.RequestID)}
	case slices.Contains(aliyunTransient, a.Code) || resp.StatusCode >= 500:
		return fmt.Errorf("%s: %s %s (request %s)", what, a.Code, a.Message, a.RequestID)
	default:
		return &PermanentError{Err: fmt.Errorf("%s: refused: %s %s (request %s)", what, a.Code, a.Message, a.RequestID)}
	}
}

// AliyunRPCSignature signs the parameters of an Aliyun RPC-style request (SignatureVersion
// 1.0): the parameters, Signature excluded, sorted by name and percent-encoded (RFC 3986:
// space as %20, * as %2A, ~ kept) into the canonical query; StringToSign = method + "&" +
// encode("/") + "&" + encode(canonical query); the signature is
// base64(HMAC-SHA1(secret + "&", StringToSign)).
func AliyunRPCSignature(method string, params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = aliyunEncode(k) + "=" + aliyunEncode(params[k])
	}
	toSign := method + "&" + aliyunEncode("/") + "&" + aliyunEncode(strings.Join(parts, "&"))
	h := hmac.New(sha1.New, []byte(secret+"&"))
	h.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// aliyunEncode is the percent-encoding of Aliyun's signature: every byte but A-Z a-z 0-9
// - _ . ~ as %XX in upper case.
func aliyunEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func readLimited(resp *http.Response) ([]byte, error) {
	return io.ReadAll(io.LimitReader(resp.Body, 64<<10))
}

func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
