package service

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// FactoryStationPassword is the password data loggers ship with (and the repository's
// sites.yaml uses); production mode refuses it.
const FactoryStationPassword = "123456"

// production is the production-mode step Main runs for every service, before -check's
// report and before Start: the configuration's refusals (config.Config.Production, each
// section's own) and those of the files the service reads — development tokens in
// auth.tokens_file (api, gateway) and factory, empty or shared station passwords in
// sites_file (the gateway, which authenticates stations). Each error names its key. In
// development mode it returns nil.
func production(service string, cfg *config.Config) error {
	if cfg.Mode != config.ModeProduction {
		return nil
	}
	errs := []error{cfg.Production(service)}
	readsTokens, readsStations := reads(service)
	if readsTokens {
		errs = append(errs, developmentTokens(cfg.Auth.TokensFile))
	}
	if readsStations {
		errs = append(errs, stationPasswords(cfg.SitesFile))
	}
	if service == "api" || service == "responder" {
		errs = append(errs, developmentCommandKey(cfg.Kafka.CommandsKeyFile))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("production mode (mode: %s; the local stack and tests set %s=%s) refuses:\n%w",
			config.ModeProduction, config.EnvName("mode"), config.ModeDevelopment, err)
	}
	return nil
}

// reads says which of the files production judges a service reads: the tokens file (the
// api, and the gateway's HTTP uploads) and the stations' passwords (the gateway).
func reads(service string) (tokens, stations bool) {
	switch service {
	case "api":
		return true, false
	case "gateway":
		return true, true
	}
	return false, false
}

// refuse names a key the way config's validation does.
func refuse(key, format string, args ...any) error {
	return fmt.Errorf("config key %s (env %s): %s", key, config.EnvName(key), fmt.Sprintf(format, args...))
}

// developmentTokens refuses a tokens file holding a token of the repository's development
// file (compared by digest, so a hashed entry is found too). A file that does not load is
// left to the service's own check, which reports why.
func developmentTokens(path string) error {
	tokens, err := auth.Load(path)
	if err != nil {
		return nil
	}
	if dev := tokens.Development(); len(dev) > 0 {
		return refuse("auth.tokens_file", "%s: entries %s hold public tokens of the repository (configs/tokens.yaml, or an example's placeholder); issue new ones (openssl rand -hex 32), stored hashed as sha256:<hex>",
			path, strings.Join(dev, ", "))
	}
	return nil
}

// developmentCommandKey refuses the repository's public command key (configs/commands.key):
// with it anyone could sign a command the responder applies. A file that does not load is
// left to the service's own check.
func developmentCommandKey(path string) error {
	key, err := message.LoadCommandKey(path)
	if err != nil {
		return nil
	}
	if key.Development() {
		return refuse("kafka.commands_key_file", "%s is the repository's public development key; make one (openssl rand -hex 32 > FILE, readable by the api and the responder only)", path)
	}
	return nil
}

// stationPasswords refuses a station with an empty or factory password, and a password
// shared by several stations (one leak would open them all), and SM4 keys that are one
// byte repeated. Passwords and keys are never printed.
func stationPasswords(path string) error {
	net, err := network.Load(path)
	if err != nil {
		return nil // the service's own check reports it
	}
	var errs []error
	var stations []*network.Site
	for _, s := range net.Sites() {
		if s.Station == nil {
			continue
		}
		for i, k := range s.Station.SM4KeysHex {
			if patternedKey(k) {
				errs = append(errs, refuse("sites_file", "%s: site %s (MN %s): sm4_keys[%d] is one byte repeated (HJ 212-2025 §6.4.3: no fixed or patterned keys; App. A.2's test key is 16 × 0x30)", path, s.ID, s.Station.MN, i))
			}
		}
		if k := s.Station.SM4NextKeyHex; k != "" && patternedKey(k) {
			errs = append(errs, refuse("sites_file", "%s: site %s (MN %s): sm4_next_key is one byte repeated (HJ 212-2025 §6.4.3)", path, s.ID, s.Station.MN))
		}
		switch s.Station.Password {
		case "":
			errs = append(errs, refuse("sites_file", "%s: site %s (MN %s): the station password is empty", path, s.ID, s.Station.MN))
		case FactoryStationPassword:
			errs = append(errs, refuse("sites_file", "%s: site %s (MN %s): the station password is the factory default %s", path, s.ID, s.Station.MN, FactoryStationPassword))
		default:
			stations = append(stations, s)
		}
	}
	// Shared passwords, compared in constant time pairwise (a handful of stations per
	// network; the list is small).
	shared := map[int][]string{}
	owner := make([]int, len(stations))
	for i := range stations {
		owner[i] = i
		for j := 0; j < i; j++ {
			if subtle.ConstantTimeCompare([]byte(stations[i].Station.Password), []byte(stations[j].Station.Password)) == 1 {
				owner[i] = owner[j]
				break
			}
		}
		shared[owner[i]] = append(shared[owner[i]], stations[i].ID)
	}
	keys := make([]int, 0, len(shared))
	for k := range shared {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		if ids := shared[k]; len(ids) > 1 {
			errs = append(errs, refuse("sites_file", "%s: sites %s share one station password; give each station its own", path, strings.Join(ids, ", ")))
		}
	}
	return errors.Join(errs...)
}

// patternedKey reports whether a key written in hex is one byte repeated (16 × 0x30, all
// zeros, …).
func patternedKey(h string) bool {
	h = strings.ToLower(h)
	if len(h) < 4 {
		return false
	}
	return strings.Count(h, h[:2]) == len(h)/2
}
