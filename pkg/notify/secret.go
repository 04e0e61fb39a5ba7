package notify

import (
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// SecretURL is the address of a webhook or group robot. WeCom and DingTalk robots
// authenticate by their URL (…/webhook/send?key=<KEY>, …/robot/send?access_token=<TOKEN>),
// and a generic webhook may carry a token in its path, so the address is a credential:
// String, Error, LogValue and MarshalJSON print only its scheme and host
// (scheme://host/REDACTED?key=REDACTED). Reveal returns the real address, for the sender
// alone. An e-mail address (no "://") prints as it is.
type SecretURL string

// Reveal returns the address itself: only a sender may call it.
func (s SecretURL) Reveal() string { return string(s) }

// String returns the redacted form of the address.
func (s SecretURL) String() string { return redactURL(string(s)) }

// Error returns the redacted form, so that a SecretURL used as an error text stays safe.
func (s SecretURL) Error() string { return s.String() }

// LogValue makes log/slog print the redacted form.
func (s SecretURL) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form.
func (s SecretURL) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText encodes the redacted form (YAML, text encoders).
func (s SecretURL) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText keeps the text as it is (configuration files hold the real address).
func (s *SecretURL) UnmarshalText(b []byte) error { *s = SecretURL(b); return nil }

// redactURL keeps scheme and host of a URL and replaces its path, user info and every
// query value; text that is not an absolute URL is returned unchanged.
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "REDACTED"
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" {
		out += "/REDACTED"
	}
	if u.RawQuery != "" {
		q := u.Query()
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		// sorted for stable output
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = url.QueryEscape(k) + "=REDACTED"
		}
		out += "?" + strings.Join(parts, "&")
	}
	return out
}

// redactedError is an error whose text has had every secret removed. It keeps the
// original chain for errors.Is/As of types that hold no text (PermanentError is rebuilt
// around it by Redact).
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// Redact returns err with every occurrence of the secrets (addresses, tokens, passwords)
// removed from its text, and the URL of any *url.Error replaced by its redacted form. A
// PermanentError stays permanent. Every error a sender of this package returns has been
// through Redact; the responder applies it again before logging or recording an error.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		text = strings.ReplaceAll(text, ue.URL, redactURL(ue.URL))
		secrets = append(secrets, ue.URL)
	}
	text = scrub(text, secrets...)
	if text == err.Error() {
		switch e := err.(type) {
		case *redactedError:
			return err
		case *RetryAfterError:
			if _, ok := e.Err.(*redactedError); ok {
				return err
			}
		}
	}
	inner := err
	if ue != nil {
		inner = nil // the *url.Error still holds the URL: do not expose it through Unwrap
	}
	var p *PermanentError
	if errors.As(err, &p) {
		return &PermanentError{Err: &redactedError{text: strings.TrimPrefix(text, "permanent: "), err: nil}}
	}
	// The hint of when to come back survives redaction: the caller's backoff uses it.
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return &RetryAfterError{After: ra.After, Held: ra.Held, Err: &redactedError{text: text, err: nil}}
	}
	return &redactedError{text: text, err: inner}
}

// scrub removes secrets from text: each secret, its URL-escaped and its redacted-URL
// forms, and, for a secret that is a URL, the secret parts of it (path, query values).
func scrub(text string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(s, "://") {
			text = strings.ReplaceAll(text, s, redactURL(s))
			if u, err := url.Parse(s); err == nil {
				for _, vs := range u.Query() {
					for _, v := range vs {
						if len(v) >= 4 {
							text = strings.ReplaceAll(text, v, "REDACTED")
							text = strings.ReplaceAll(text, url.QueryEscape(v), "REDACTED")
						}
					}
				}
				if p := strings.Trim(u.Path, "/"); len(p) >= 4 {
					text = strings.ReplaceAll(text, u.EscapedPath(), "/REDACTED")
				}
				if pw, ok := u.User.Password(); ok && pw != "" {
					text = strings.ReplaceAll(text, pw, "REDACTED")
				}
			}
			continue
		}
		text = strings.ReplaceAll(text, s, "REDACTED")
		if e := url.QueryEscape(s); e != s {
			text = strings.ReplaceAll(text, e, "REDACTED")
		}
	}
	return text
}
