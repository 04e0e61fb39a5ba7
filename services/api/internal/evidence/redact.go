package evidence

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Redacted is the value that replaces a secret in a configuration copy.
const Redacted = "REDACTED"

// secretKeys are the mapping keys whose values a bundle never carries (sites.yaml's
// station passwords; the others guard files that grow such fields later).
var secretKeys = map[string]bool{"password": true, "secret": true, "token": true, "api_key": true}

// RedactSites returns a copy of a sites.yaml for a bundle: every secret value (station
// passwords) replaced by REDACTED, and, when sees is not nil, the sites of jurisdictions
// it does not see left out (their ids are returned), so that a bundle tells its reader no
// more than the API would (docs/security.md L9). Rivers and jurisdictions stay. The copy
// is re-encoded: comments stay, layout may differ; the manifest keeps the SHA-256 of the
// original.
func RedactSites(data []byte, sees func(jurisdiction string) bool) ([]byte, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("redact sites: %w", err)
	}
	var removed []string
	if sees != nil && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "sites" || root.Content[i+1].Kind != yaml.SequenceNode {
				continue
			}
			seq := root.Content[i+1]
			kept := seq.Content[:0]
			for _, site := range seq.Content {
				if j := scalar(site, "jurisdiction"); j != "" && !sees(j) {
					removed = append(removed, scalar(site, "id"))
					continue
				}
				kept = append(kept, site)
			}
			seq.Content = kept
		}
	}
	redactSecrets(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, fmt.Errorf("redact sites: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, nil, fmt.Errorf("redact sites: encode: %w", err)
	}
	return buf.Bytes(), removed, nil
}

// scalar returns the scalar value of key in mapping node n, or "".
func scalar(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func redactSecrets(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; secretKeys[n.Content[i].Value] && v.Kind == yaml.ScalarNode {
				v.Value, v.Tag, v.Style = Redacted, "!!str", 0
			}
		}
	}
	for _, c := range n.Content {
		redactSecrets(c)
	}
}
