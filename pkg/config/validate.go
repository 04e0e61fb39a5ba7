package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// validator collects the refused values of a section, each naming its key and the
// environment variable that overrides it.
type validator struct{ errs []error }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("config key %s (env %s): %s", key, EnvName(key), fmt.Sprintf(format, args...)))
}

func (v *validator) err() error { return errors.Join(v.errs...) }

func (v *validator) nonEmpty(key, val string) {
	if strings.TrimSpace(val) == "" {
		v.add(key, "must not be empty")
	}
}

// positive refuses zero and negative values.
func positive[T cmp.Ordered](v *validator, key string, val T) {
	var zero T
	if val <= zero {
		v.add(key, "%v must be > 0", val)
	}
}

// notNegative refuses negative values (0 has a documented meaning).
func notNegative[T cmp.Ordered](v *validator, key string, val T) {
	var zero T
	if val < zero {
		v.add(key, "%v must be ≥ 0", val)
	}
}

func (v *validator) positive(key string, val any) {
	switch x := val.(type) {
	case int:
		positive(v, key, x)
	case int64:
		positive(v, key, x)
	case float64:
		positive(v, key, x)
	case time.Duration:
		positive(v, key, x)
	default:
		panic(fmt.Sprintf("config: positive(%s): unsupported %T", key, val))
	}
}

func (v *validator) notNegative(key string, val any) {
	switch x := val.(type) {
	case int:
		notNegative(v, key, x)
	case float64:
		notNegative(v, key, x)
	case time.Duration:
		notNegative(v, key, x)
	default:
		panic(fmt.Sprintf("config: notNegative(%s): unsupported %T", key, val))
	}
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	if !slices.Contains(allowed, val) {
		v.add(key, "%q is not one of %s", val, strings.Join(allowed, ", "))
	}
}

func (v *validator) atMost(key string, val, limit int) {
	if val > limit {
		v.add(key, "%d must be ≤ %d", val, limit)
	}
}
