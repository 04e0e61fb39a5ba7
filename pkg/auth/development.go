package auth

import (
	"slices"
	"strings"
)

// DevelopmentTokenDigests returns the digests (Digest) of the tokens of the repository's
// development file, configs/tokens.yaml. Those tokens are public: production mode refuses
// a tokens file holding any of them. TestDevelopmentTokenDigestsMatchTheRepositoryFile
// keeps this list equal to the file.
func DevelopmentTokenDigests() []string {
	return []string{
		"sha256:1734d503f6aa6a047c36d113cbad769f719c93784b469b771c4c3e7c63adbefd", // dev-admin-token
		"sha256:840bf750757e0b652a67fd2dbe7f8bae4bec7ac49f8d438418a312e586eb8056", // dev-responder-changji
		"sha256:eac599479dd5894b55fc02688aed7165fdc720a1ca41bdf3cf53fc8b822b5b3f", // dev-responder-urumqi
		"sha256:364ae85ec2ab005d17947dc7a58c978ec0e8c5674126f6953928cd67bdf293fe", // dev-viewer-changji
		"sha256:3ca3b478f17bfa7e97b5d10cc6d2984914ef1181d2800bacf84a49e481280022", // dev-viewer-xpcc6
		"sha256:37a4b0957795cb6e238b7f2d01d8ef45bc0b59d477b8446737a295c628669fe1", // dev-gateway-lab
	}
}

// Development returns the names of the entries holding a token of the repository's
// development file, or one of its examples' placeholders (REPLACE-ME-…, change-me-…, stored
// as given).
func (t *Tokens) Development() []string {
	dev := t.Names(DevelopmentTokenDigests())
	for _, p := range t.set.Load().list {
		tok := strings.ToLower(p.Token)
		if (strings.HasPrefix(tok, "replace-me") || strings.HasPrefix(tok, "change-me")) && !slices.Contains(dev, p.Name) {
			dev = append(dev, p.Name)
		}
	}
	return dev
}
