package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The OpenAPI document is written by hand. These tests prove it matches the handlers: it
// lists exactly the routes registered, and every response any test in this package receives
// is checked against the document (status code documented, JSON body valid against the
// schema, no property the schema does not declare).

type openAPI struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas   map[string]*schema `json:"schemas"`
		Responses map[string]struct {
			Content map[string]struct {
				Schema *schema `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"components"`
}

type operation struct {
	Parameters []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	Responses map[string]struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	Enum       []any              `json:"enum"`
	Nullable   bool               `json:"nullable"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
	Items      *schema            `json:"items"`
	// AdditionalProperties is false (closed object) or a schema (a map's values).
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
}

func loadOpenAPI(t testing.TB) *openAPI {
	t.Helper()
	var doc openAPI
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return &doc
}

// pathPattern turns "/api/v1/sites/{id}" into a regexp.
func pathPattern(p string) *regexp.Regexp {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = `[^/]+`
		} else {
			segs[i] = regexp.QuoteMeta(s)
		}
	}
	return regexp.MustCompile("^" + strings.Join(segs, "/") + "$")
}

// operationFor finds the documented operation of a request path.
func (d *openAPI) operationFor(method, path string) (string, *operation) {
	var best string
	for p := range d.Paths {
		if pathPattern(p).MatchString(path) && (best == "" || strings.Count(p, "{") < strings.Count(best, "{")) {
			best = p
		}
	}
	if best == "" {
		return "", nil
	}
	op, ok := d.Paths[best][strings.ToLower(method)]
	if !ok {
		return best, nil
	}
	return best, &op
}

// checkResponse validates one response against the document.
func (d *openAPI) checkResponse(method, path string, status int, contentType string, body []byte) error {
	p, op := d.operationFor(method, path)
	if op == nil {
		return fmt.Errorf("%s %s: not documented", method, path)
	}
	resp, ok := op.Responses[strconv.Itoa(status)]
	if !ok {
		return fmt.Errorf("%s %s: status %d is not documented", method, p, status)
	}
	var sch *schema
	if resp.Ref != "" {
		name := strings.TrimPrefix(resp.Ref, "#/components/responses/")
		sch = d.Components.Responses[name].Content["application/json"].Schema
	} else {
		mt := strings.TrimSpace(strings.Split(contentType, ";")[0])
		c, ok := resp.Content[mt]
		if !ok {
			return fmt.Errorf("%s %s %d: content type %q is not documented", method, p, status, mt)
		}
		sch = c.Schema
	}
	if !strings.HasPrefix(contentType, "application/json") || sch == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %v", method, p, status, err)
	}
	if err := d.validate(sch, v, "$"); err != nil {
		return fmt.Errorf("%s %s %d: %w", method, p, status, err)
	}
	return nil
}

func (d *openAPI) resolve(s *schema) *schema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// validate checks v against s: types, formats, enums, required and declared properties.
func (d *openAPI) validate(s *schema, v any, at string) error {
	s = d.resolve(s)
	if s == nil {
		return fmt.Errorf("%s: schema reference does not resolve", at)
	}
	if v == nil {
		if s.Nullable || s.Type == "" {
			return nil
		}
		return fmt.Errorf("%s: null, schema says %s", at, s.Type)
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
		return fmt.Errorf("%s: %v not in enum %v", at, v, s.Enum)
	}
	switch s.Type {
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %T, want string", at, v)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is not RFC 3339", at, str)
			}
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: %T, want number", at, v)
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: %v, want integer", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %T, want boolean", at, v)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want array", at, v)
		}
		for i, x := range arr {
			if err := d.validate(s.Items, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want object", at, v)
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				return fmt.Errorf("%s: required property %q missing", at, r)
			}
		}
		var mapValues *schema
		if len(s.AdditionalProperties) > 0 && string(s.AdditionalProperties) != "false" {
			mapValues = &schema{}
			if err := json.Unmarshal(s.AdditionalProperties, mapValues); err != nil {
				return fmt.Errorf("%s: additionalProperties: %v", at, err)
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, declared := s.Properties[k]
			switch {
			case declared:
				if err := d.validate(ps, obj[k], at+"."+k); err != nil {
					return err
				}
			case mapValues != nil:
				if err := d.validate(mapValues, obj[k], at+"."+k); err != nil {
					return err
				}
			case len(s.Properties) > 0 || string(s.AdditionalProperties) == "false":
				return fmt.Errorf("%s: property %q is not in the document", at, k)
			}
		}
	}
	return nil
}

func TestOpenAPIListsExactlyTheRegisteredRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	env := newEnv(t)
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range env.server.Routes() {
		registered[r] = true
		if !documented[r] {
			t.Errorf("route %s is registered but not in openapi.json", r)
		}
	}
	for r := range documented {
		if !registered[r] {
			t.Errorf("openapi.json documents %s, which no handler serves", r)
		}
	}
}

func TestOpenAPIDocumentIsServedWithoutAToken(t *testing.T) {
	env := newEnv(t)
	res := env.do(t, "GET", "/api/v1/openapi.json", "", nil)
	if res.status != http.StatusOK {
		t.Fatalf("status %d", res.status)
	}
	var doc map[string]any
	if err := json.Unmarshal(res.body, &doc); err != nil || doc["openapi"] != "3.0.3" {
		t.Fatalf("served document: %v %v", doc["openapi"], err)
	}
}

func TestOpenAPIRefsAllResolve(t *testing.T) {
	raw := string(api.OpenAPI())
	doc := loadOpenAPI(t)
	for _, m := range regexp.MustCompile(`"\$ref": "#/components/(schemas|responses)/([^"]+)"`).FindAllStringSubmatch(raw, -1) {
		switch m[1] {
		case "schemas":
			if doc.Components.Schemas[m[2]] == nil {
				t.Errorf("unresolved schema %s", m[2])
			}
		case "responses":
			if _, ok := doc.Components.Responses[m[2]]; !ok {
				t.Errorf("unresolved response %s", m[2])
			}
		}
	}
}

// TestOpenAPIDocumentIsValidOpenAPI3 checks the document against the OpenAPI 3.0 rules,
// which the hand-written checks above do not: a document they accept can still be refused
// by client generators and by schemathesis. Two validators, because each misses what the
// other sees: the specification's own JSON Schema (testdata/openapi-3.0-schema.json, the
// OpenAPI Initiative's schemas/v3.0/schema.json of 2019-04-02) checks every object's shape
// and keyword, e.g. that "required" lists at least one property; kin-openapi checks what a
// JSON Schema cannot, e.g. that references resolve and path parameters are declared.
func TestOpenAPIDocumentIsValidOpenAPI3(t *testing.T) {
	meta, err := os.ReadFile(filepath.Join("testdata", "openapi-3.0-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	metaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(meta))
	if err != nil {
		t.Fatalf("testdata/openapi-3.0-schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	if err := c.AddResource("openapi-3.0-schema.json", metaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("openapi-3.0-schema.json")
	if err != nil {
		t.Fatalf("compile the OpenAPI 3.0 schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI()))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("openapi.json does not follow the OpenAPI 3.0 schema: %v", err)
	}

	loader := openapi3.NewLoader()
	loaded, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json does not load as OpenAPI 3: %v", err)
	}
	if err := loaded.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3: %v", err)
	}
}
