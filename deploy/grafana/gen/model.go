package main

// The subset of Grafana's dashboard JSON model (schemaVersion 39) that the dashboards use.

// dataSource points a panel or a query at the dashboard's Prometheus variable.
type dataSource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

var promDS = dataSource{Type: "prometheus", UID: "${datasource}"}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type target struct {
	Datasource   dataSource `json:"datasource"`
	Expr         string     `json:"expr"`
	LegendFormat string     `json:"legendFormat"`
	RefID        string     `json:"refId"`
}

type fieldConfig struct {
	Defaults  fieldDefaults `json:"defaults"`
	Overrides []any         `json:"overrides"`
}

type fieldDefaults struct {
	Unit       string      `json:"unit"`
	Min        *float64    `json:"min,omitempty"`
	Thresholds *thresholds `json:"thresholds,omitempty"`
}

type thresholds struct {
	Mode  string      `json:"mode"`
	Steps []threshold `json:"steps"`
}

type threshold struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

type panelModel struct {
	ID          int          `json:"id"`
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Description string       `json:"description,omitempty"`
	Datasource  *dataSource  `json:"datasource,omitempty"`
	GridPos     gridPos      `json:"gridPos"`
	Targets     []target     `json:"targets,omitempty"`
	FieldConfig *fieldConfig `json:"fieldConfig,omitempty"`
	Options     any          `json:"options,omitempty"`
	Collapsed   *bool        `json:"collapsed,omitempty"`
	Panels      []panelModel `json:"panels,omitempty"`
}

type templateVar struct {
	Name    string `json:"name"`
	Label   string `json:"label"`
	Type    string `json:"type"`
	Query   string `json:"query"`
	Current struct {
	} `json:"current"`
	Hide    int    `json:"hide"`
	Refresh int    `json:"refresh"`
	Regex   string `json:"regex"`
}

type dashboardModel struct {
	UID                  string            `json:"uid"`
	Title                string            `json:"title"`
	Description          string            `json:"description"`
	Tags                 []string          `json:"tags"`
	Timezone             string            `json:"timezone"`
	Editable             bool              `json:"editable"`
	GraphTooltip         int               `json:"graphTooltip"`
	SchemaVersion        int               `json:"schemaVersion"`
	Version              int               `json:"version"`
	Refresh              string            `json:"refresh"`
	Time                 map[string]string `json:"time"`
	Templating           map[string]any    `json:"templating"`
	Annotations          map[string]any    `json:"annotations"`
	Links                []any             `json:"links"`
	Panels               []panelModel      `json:"panels"`
	FiscalYearStartMonth int               `json:"fiscalYearStartMonth"`
	LiveNow              bool              `json:"liveNow"`
}

// dashboard is one dashboard as dashboards.go defines it: rows of panels.
type dashboard struct {
	UID, Title, Description string
	Rows                    []row
}

type row struct {
	Title  string
	Panels []panel
}

// panel is a time series (or, with Stat, a single value) of one or more queries.
type panel struct {
	Title, Description, Unit string
	Stat                     bool
	Queries                  []query
	// Max, when set, draws a red threshold line (a target) at that value.
	Max *float64
}

type query struct{ Expr, Legend string }

func q(expr, legend string) query { return query{Expr: expr, Legend: legend} }

func ptr(v float64) *float64 { return &v }

// model lays the rows out on Grafana's 24-column grid: full-width row headers, panels of
// 8 columns (3 a line) or 6 for stats (4 a line).
func (d dashboard) model() dashboardModel {
	var panels []panelModel
	id, y := 1, 0
	for _, r := range d.Rows {
		open := false
		panels = append(panels, panelModel{ID: id, Type: "row", Title: r.Title, GridPos: gridPos{H: 1, W: 24, X: 0, Y: y}, Collapsed: &open, Panels: []panelModel{}})
		id++
		y++
		x := 0
		for _, p := range r.Panels {
			w, h := 8, 8
			if p.Stat {
				w, h = 6, 4
			}
			if x+w > 24 {
				x = 0
				y += h
			}
			panels = append(panels, p.model(id, gridPos{H: h, W: w, X: x, Y: y}))
			id++
			x += w
		}
		y += 8
	}
	return dashboardModel{
		UID: d.UID, Title: d.Title, Description: d.Description,
		Tags: []string{"riverwatch"}, Timezone: "browser", Editable: true, GraphTooltip: 1,
		SchemaVersion: 39, Version: 1, Refresh: "30s",
		Time: map[string]string{"from": "now-6h", "to": "now"},
		Templating: map[string]any{"list": []templateVar{{
			Name: "datasource", Label: "Prometheus", Type: "datasource", Query: "prometheus", Refresh: 1,
		}}},
		Annotations: map[string]any{"list": []any{}},
		Links: []any{map[string]any{
			"title": "riverwatch", "type": "dashboards", "tags": []string{"riverwatch"}, "asDropdown": true,
		}},
		Panels: panels,
	}
}

func (p panel) model(id int, pos gridPos) panelModel {
	ds := promDS
	m := panelModel{ID: id, Type: "timeseries", Title: p.Title, Description: p.Description, Datasource: &ds, GridPos: pos}
	if p.Stat {
		m.Type = "stat"
		m.Options = map[string]any{"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false}, "colorMode": "value", "graphMode": "area"}
	} else {
		m.Options = map[string]any{"legend": map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true}, "tooltip": map[string]any{"mode": "multi", "sort": "desc"}}
	}
	fd := fieldDefaults{Unit: p.Unit, Min: ptr(0)}
	if p.Max != nil {
		fd.Thresholds = &thresholds{Mode: "absolute", Steps: []threshold{{Color: "green", Value: nil}, {Color: "red", Value: p.Max}}}
	}
	m.FieldConfig = &fieldConfig{Defaults: fd, Overrides: []any{}}
	for i, qq := range p.Queries {
		m.Targets = append(m.Targets, target{Datasource: ds, Expr: qq.Expr, LegendFormat: qq.Legend, RefID: string(rune('A' + i))})
	}
	return m
}
