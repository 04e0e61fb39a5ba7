package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults of the Tencent Cloud SMS API (sms, version 2021-01-11).
const (
	TencentSMSEndpoint = "https://sms.tencentcloudapi.com/"
	TencentSMSRegion   = "ap-guangzhou"
	tencentSMSVersion  = "2021-01-11"
	tencentSMSService  = "sms"
)

// TencentSMS sends a message as a Tencent Cloud SMS (SendSms of API 3.0): a JSON POST
// signed with TC3-HMAC-SHA256 (TC3Authorization). The template is chosen by the message's
// kind; its params fill the template's {1}, {2}, … in order.
//
// Tencent Cloud answers HTTP 200 both ways: {"Response":{"Error":{"Code":…}}} is a failed
// request, and each number has its own SendStatusSet entry whose Code is "Ok" when sent.
// Frequency limits are retried after the limit's window (RetryAfterError); an internal
// error is retried; every other code is permanent.
type TencentSMS struct {
	Client *http.Client
	Now    func() time.Time // the signature's timestamp (time.Now when nil)
}

type tencentAnswer struct {
	Response struct {
		Error *struct {
			Code    string `json:"Code"`
			Message string `json:"Message"`
		} `json:"Error"`
		SendStatusSet []struct {
			Code        string `json:"Code"`
			Message     string `json:"Message"`
			PhoneNumber string `json:"PhoneNumber"`
		} `json:"SendStatusSet"`
		RequestID string `json:"RequestId"`
	} `json:"Response"`
}

// tencentWait is how long a Tencent frequency-limit code asks to wait (the limit's
// window), capped like a Retry-After.
func tencentWait(code string) (time.Duration, bool) {
	switch code {
	case "RequestLimitExceeded", "LimitExceeded.AppDailyLimit":
		return time.Minute, true
	case "LimitExceeded.PhoneNumberThirtySecondLimit":
		return 30 * time.Second, true
	case "LimitExceeded.PhoneNumberOneHourLimit", "LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit":
		return maxRetryAfter, true
	}
	return 0, false
}

// e164 writes a mainland number (11 digits) with +86, as Tencent Cloud wants E.164.
func e164(phone string) string {
	if strings.HasPrefix(phone, "+") {
		return phone
	}
	if len(phone) == 11 && phone[0] == '1' {
		return "+86" + phone
	}
	return "+" + phone
}

// Send sends m to the phone number t.Address with the account of cfg.
func (s *TencentSMS) Send(ctx context.Context, cfg *SMSConfig, t Target, m Message) error {
	secret, err := cfg.prepare(t)
	if err != nil {
		return err
	}
	code, _, vals := cfg.template(m)
	body, err := json.Marshal(map[string]any{
		"PhoneNumberSet": []string{e164(t.Address)}, "SmsSdkAppId": cfg.SDKAppID, "SignName": cfg.SignName,
		"TemplateId": code, "TemplateParamSet": vals, "SessionContext": m.Key,
	})
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("sms: encode: %w", err)}
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = TencentSMSEndpoint
	}
	region := cfg.Region
	if region == "" {
		region = TencentSMSRegion
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("sms: %w", err)}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now()
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-TC-Action", "SendSms")
	req.Header.Set("X-TC-Version", tencentSMSVersion)
	req.Header.Set("X-TC-Region", region)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderIdempotencyKey, m.Key)
	req.Header.Set("Authorization", TC3Authorization(cfg.AccessKeyID, secret, tencentSMSService, req.URL.Host, "application/json; charset=utf-8", body, ts))
	return doTencent(s.Client, req)
}

func doTencent(c *http.Client, req *http.Request) error {
	const what = "sms tencent"
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, _ := readLimited(resp)
	var a tencentAnswer
	if json.Unmarshal(b, &a) != nil || (a.Response.Error == nil && len(a.Response.SendStatusSet) == 0) {
		if err := classify(what, resp.StatusCode, b); err != nil {
			return err
		}
		return fmt.Errorf("%s: a %d answer without Tencent Cloud's Response, not known to be sent: %s", what, resp.StatusCode, trim(b))
	}
	code, text := "", ""
	if e := a.Response.Error; e != nil {
		code, text = e.Code, e.Message
	} else {
		st := a.Response.SendStatusSet[0]
		if st.Code == "Ok" {
			return nil
		}
		code, text = st.Code, st.Message
	}
	switch d, wait := tencentWait(code); {
	case wait:
		return &RetryAfterError{After: d, Err: fmt.Errorf("%s: throttled: %s %s (request %s)", what, code, text, a.Response.RequestID)}
	case strings.HasPrefix(code, "InternalError") || resp.StatusCode >= 500:
		return fmt.Errorf("%s: %s %s (request %s)", what, code, text, a.Response.RequestID)
	default:
		return &PermanentError{Err: fmt.Errorf("%s: refused: %s %s (request %s)", what, code, text, a.Response.RequestID)}
	}
}

// TC3Authorization is the Authorization header of a Tencent Cloud API 3.0 POST with a JSON
// body, signed with TC3-HMAC-SHA256 over the headers content-type and host:
//
//	CanonicalRequest = POST\n/\n\ncontent-type:<ct>\nhost:<host>\n\ncontent-type;host\nhex(SHA256(body))
//	StringToSign     = TC3-HMAC-SHA256\n<unix ts>\n<date>/<service>/tc3_request\nhex(SHA256(CanonicalRequest))
//	key              = HMAC(HMAC(HMAC("TC3"+secretKey, date), service), "tc3_request")
//	Signature        = hex(HMAC-SHA256(key, StringToSign))
//
// with date the UTC date of the timestamp (YYYY-MM-DD).
func TC3Authorization(secretID, secretKey, service, host, contentType string, body []byte, ts time.Time) string {
	date := ts.UTC().Format("2006-01-02")
	payload := sha256.Sum256(body)
	canonical := "POST\n/\n\n" +
		"content-type:" + contentType + "\n" + "host:" + host + "\n\n" +
		"content-type;host\n" + hex.EncodeToString(payload[:])
	creq := sha256.Sum256([]byte(canonical))
	scope := date + "/" + service + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts.Unix(), 10) + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	key := mac(mac(mac([]byte("TC3"+secretKey), date), service), "tc3_request")
	sig := hex.EncodeToString(mac(key, toSign))
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedHeaders=content-type;host, Signature=" + sig
}
