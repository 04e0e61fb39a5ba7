package standard

//go:generate go run gen_lookup.go

// paramID is the interned index of a parameter in the params table. The zero
// value is "unknown". lookup (params_lookup.go, generated) maps a code to it
// with a string switch, so finding a parameter does not allocate.
type paramID uint16

// tableNo says which part of GB 3838-2002, if any, sets the item's limits.
type tableNo uint8

const (
	tableNone tableNo = iota // measured, no limit in GB 3838-2002
	table1                   // Table 1 basic items: class limits
	table2                   // Table 2 supplementary drinking-source items: single limit
	table3                   // Table 3 specific drinking-source items: single limit
)

// direction of a Table 1 limit (facts §1.1 "Dir").
type direction uint8

const (
	dirNone  direction = iota // water temperature: no class limits
	dirUpper                  // value ≤ limit
	dirLower                  // value ≥ limit (DO)
	dirRange                  // PHMin ≤ value ≤ PHMax (pH)
)

// unitKind groups parameters by the physical quantity they measure, which
// fixes the canonical unit and the conversions ToCanonical accepts.
type unitKind uint8

const (
	unitMass          unitKind = iota // mass concentration, mg/L
	unitCount                         // bacteria count, 个/L
	unitPH                            // dimensionless pH, "1"
	unitTemp                          // °C
	unitConductivity                  // µS/cm
	unitTurbidity                     // NTU
	unitFlow                          // m3/s
	unitSalinity                      // ‰ (g/kg)
	unitLength                        // m
	unitVelocity                      // m/s
	unitDilution                      // 倍 (dilution factor, colour)
	unitRadioactivity                 // Bq/L
)

// Flags of a parameter.
const (
	flagEvaluated  = 1 << iota // one of the 21 items of 环办〔2011〕22号
	flagToxic                  // toxic: fast-tracked, priority main pollutant
	flagHeavyMetal             // heavy metal (重金属)
	flagLakeOnly               // Table 1 limits apply to lakes and reservoirs only (TN)
	flagLakeLimits             // separate lake/reservoir limits in lake (TP)
	flagNoMultiple             // no over-standard multiple (temp, pH, DO; facts §2.4)
)

// paramDef is one row of the parameter table. Limits are in the canonical
// unit of the parameter.
type paramDef struct {
	code   string
	zh, en string
	unit   unitKind
	table  tableNo
	dir    direction
	flags  uint8
	limits [5]float64 // Table 1, Class Ⅰ…Ⅴ
	lake   [5]float64 // Table 1, lakes and reservoirs, when flagLakeLimits
	single float64    // Table 2 and Table 3 single limit
}

func (d *paramDef) has(f uint8) bool { return d.flags&f != 0 }

// classes are the limits of one Table 1 item for Class Ⅰ…Ⅴ, named so that a row reads as
// the standard prints it (the Class Ⅲ ammonia limit is the III of the nh3n row).
type classes struct{ I, II, III, IV, V float64 }

// array returns the limits indexed by class − 1.
func (c classes) array() [5]float64 { return [5]float64{c.I, c.II, c.III, c.IV, c.V} }

// t1 builds a Table 1 row with upper limits.
func t1(code, zh, en string, flags uint8, l classes) paramDef {
	return paramDef{code: code, zh: zh, en: en, table: table1, dir: dirUpper, flags: flags, limits: l.array()}
}

// t2 builds a Table 2 row (GB 3838-2002 Table 2, facts §1.2).
func t2(code, zh, en string, limit float64) paramDef {
	return paramDef{code: code, zh: zh, en: en, table: table2, dir: dirUpper, single: limit}
}

// t3 builds a Table 3 row (GB 3838-2002 Table 3, facts §1.3). Every Table 3
// item is a specific toxic item for drinking-water sources.
func t3(code, zh, en string, limit float64, flags uint8) paramDef {
	return paramDef{code: code, zh: zh, en: en, table: table3, dir: dirUpper, single: limit, flags: flagToxic | flags}
}

// other builds a row for a measured parameter without a GB 3838-2002 limit.
func other(code, zh, en string, unit unitKind, flags uint8) paramDef {
	return paramDef{code: code, zh: zh, en: en, unit: unit, table: tableNone, flags: flags}
}

const (
	ev  = flagEvaluated
	tox = flagToxic
	hm  = flagHeavyMetal
)

// params is the parameter table, indexed by paramID. Index 0 is the unknown
// parameter. It is read-only: nothing in the package writes to it, and it is
// unexported so no caller can. The order is the standard's (Table 1, 2, 3),
// then the parameters without a limit; Order reports it.
//
// Table 1 values: GB 3838-2002 Table 1, facts §1.1 [V2]. Table 2: facts §1.2
// [V2]. Table 3: facts §1.3, items 1–4 and 71–80 [V2], the rest [V1: S2].
var params = [...]paramDef{
	{},

	// GB 3838-2002 Table 1, basic items (facts §1.1), in the standard's order.
	// 1 水温: no class limits; man-made change limited (weekly mean rise ≤ 1 °C, drop ≤ 2 °C).
	{code: "temp", zh: "水温", en: "water temperature", unit: unitTemp, table: table1, dir: dirNone, flags: flagNoMultiple},
	// 2 pH: 6–9 for every class.
	{code: "ph", zh: "pH值", en: "pH", unit: unitPH, table: table1, dir: dirRange, flags: ev | flagNoMultiple},
	// 3 溶解氧: lower limit; Class Ⅰ "饱和率90%（或7.5）" taken as 7.5 mg/L as in public implementations [V2].
	{code: "do", zh: "溶解氧", en: "dissolved oxygen", table: table1, dir: dirLower, flags: ev | flagNoMultiple,
		limits: classes{I: 7.5, II: 6, III: 5, IV: 3, V: 2}.array()},
	t1("codmn", "高锰酸盐指数", "permanganate index", ev, classes{I: 2, II: 4, III: 6, IV: 10, V: 15}),
	t1("cod", "化学需氧量", "chemical oxygen demand", ev, classes{I: 15, II: 15, III: 20, IV: 30, V: 40}),
	t1("bod5", "五日生化需氧量", "five-day biochemical oxygen demand", ev, classes{I: 3, II: 3, III: 4, IV: 6, V: 10}),
	t1("nh3n", "氨氮", "ammonia nitrogen", ev, classes{I: 0.15, II: 0.5, III: 1.0, IV: 1.5, V: 2.0}),
	// 8 总磷: river limits; lakes and reservoirs 0.01/0.025/0.05/0.1/0.2.
	{code: "tp", zh: "总磷", en: "total phosphorus", table: table1, dir: dirUpper, flags: ev | flagLakeLimits,
		limits: classes{I: 0.02, II: 0.1, III: 0.2, IV: 0.3, V: 0.4}.array(), lake: classes{I: 0.01, II: 0.025, III: 0.05, IV: 0.1, V: 0.2}.array()},
	// 9 总氮: lakes and reservoirs only; not one of the 21 evaluated items.
	{code: "tn", zh: "总氮", en: "total nitrogen", table: table1, dir: dirUpper, flags: flagLakeOnly,
		limits: classes{I: 0.2, II: 0.5, III: 1.0, IV: 1.5, V: 2.0}.array()},
	t1("cu", "铜", "copper", ev|hm, classes{I: 0.01, II: 1.0, III: 1.0, IV: 1.0, V: 1.0}),
	t1("zn", "锌", "zinc", ev|hm, classes{I: 0.05, II: 1.0, III: 1.0, IV: 2.0, V: 2.0}),
	t1("fluoride", "氟化物", "fluoride", ev, classes{I: 1.0, II: 1.0, III: 1.0, IV: 1.5, V: 1.5}),
	t1("se", "硒", "selenium", ev, classes{I: 0.01, II: 0.01, III: 0.01, IV: 0.02, V: 0.02}),
	t1("as", "砷", "arsenic", ev|tox|hm, classes{I: 0.05, II: 0.05, III: 0.05, IV: 0.1, V: 0.1}),
	t1("hg", "汞", "mercury", ev|tox|hm, classes{I: 0.00005, II: 0.00005, III: 0.0001, IV: 0.001, V: 0.001}),
	t1("cd", "镉", "cadmium", ev|tox|hm, classes{I: 0.001, II: 0.005, III: 0.005, IV: 0.005, V: 0.01}),
	t1("cr6", "六价铬", "chromium (VI)", ev|tox|hm, classes{I: 0.01, II: 0.05, III: 0.05, IV: 0.05, V: 0.1}),
	t1("pb", "铅", "lead", ev|tox|hm, classes{I: 0.01, II: 0.01, III: 0.05, IV: 0.05, V: 0.1}),
	t1("cyanide", "氰化物", "cyanide", ev|tox, classes{I: 0.005, II: 0.05, III: 0.2, IV: 0.2, V: 0.2}),
	t1("phenol", "挥发酚", "volatile phenols", ev, classes{I: 0.002, II: 0.002, III: 0.005, IV: 0.01, V: 0.1}),
	t1("petroleum", "石油类", "petroleum", ev, classes{I: 0.05, II: 0.05, III: 0.05, IV: 0.5, V: 1.0}),
	t1("las", "阴离子表面活性剂", "anionic surfactants", ev, classes{I: 0.2, II: 0.2, III: 0.2, IV: 0.3, V: 0.3}),
	t1("sulfide", "硫化物", "sulfide", ev, classes{I: 0.05, II: 0.1, III: 0.2, IV: 0.5, V: 1.0}),
	// 24 粪大肠菌群, 个/L; not one of the 21 evaluated items.
	{code: "fecal_coliform", zh: "粪大肠菌群", en: "fecal coliforms", unit: unitCount, table: table1, dir: dirUpper,
		limits: classes{I: 200, II: 2000, III: 10000, IV: 20000, V: 40000}.array()},

	// GB 3838-2002 Table 2, supplementary items for drinking-water sources (facts §1.2).
	t2("sulfate", "硫酸盐", "sulfate", 250),
	t2("chloride", "氯化物", "chloride", 250),
	t2("nitrate", "硝酸盐(以N计)", "nitrate (as N)", 10),
	t2("fe", "铁", "iron", 0.3),
	t2("mn", "锰", "manganese", 0.1),

	// GB 3838-2002 Table 3, specific items for drinking-water sources (facts §1.3), Nos 1–80.
	t3("chloroform", "三氯甲烷", "chloroform", 0.06, 0),
	t3("ccl4", "四氯化碳", "carbon tetrachloride", 0.002, 0),
	t3("bromoform", "三溴甲烷", "bromoform", 0.1, 0),
	t3("dichloromethane", "二氯甲烷", "dichloromethane", 0.02, 0),
	t3("dichloroethane12", "1,2-二氯乙烷", "1,2-dichloroethane", 0.03, 0),
	t3("epichlorohydrin", "环氧氯丙烷", "epichlorohydrin", 0.02, 0),
	t3("vinyl_chloride", "氯乙烯", "vinyl chloride", 0.005, 0),
	t3("dichloroethene11", "1,1-二氯乙烯", "1,1-dichloroethene", 0.03, 0),
	t3("dichloroethene12", "1,2-二氯乙烯", "1,2-dichloroethene", 0.05, 0),
	t3("tce", "三氯乙烯", "trichloroethene", 0.07, 0),
	t3("pce", "四氯乙烯", "tetrachloroethene", 0.04, 0),
	t3("chloroprene", "氯丁二烯", "chloroprene", 0.002, 0),
	t3("hexachlorobutadiene", "六氯丁二烯", "hexachlorobutadiene", 0.0006, 0),
	t3("styrene", "苯乙烯", "styrene", 0.02, 0),
	t3("formaldehyde", "甲醛", "formaldehyde", 0.9, 0),
	t3("acetaldehyde", "乙醛", "acetaldehyde", 0.05, 0),
	t3("acrolein", "丙烯醛", "acrolein", 0.1, 0),
	t3("chloral", "三氯乙醛", "chloral", 0.01, 0),
	t3("benzene", "苯", "benzene", 0.01, 0),
	t3("toluene", "甲苯", "toluene", 0.7, 0),
	t3("ethylbenzene", "乙苯", "ethylbenzene", 0.3, 0),
	t3("xylene", "二甲苯", "xylenes", 0.5, 0),
	t3("cumene", "异丙苯", "cumene", 0.25, 0),
	t3("chlorobenzene", "氯苯", "chlorobenzene", 0.3, 0),
	t3("dichlorobenzene12", "1,2-二氯苯", "1,2-dichlorobenzene", 1.0, 0),
	t3("dichlorobenzene14", "1,4-二氯苯", "1,4-dichlorobenzene", 0.3, 0),
	t3("trichlorobenzene", "三氯苯", "trichlorobenzenes", 0.02, 0),
	t3("tetrachlorobenzene", "四氯苯", "tetrachlorobenzenes", 0.02, 0),
	t3("hexachlorobenzene", "六氯苯", "hexachlorobenzene", 0.05, 0),
	t3("nitrobenzene", "硝基苯", "nitrobenzene", 0.017, 0),
	t3("dinitrobenzene", "二硝基苯", "dinitrobenzene", 0.5, 0),
	t3("dinitrotoluene24", "2,4-二硝基甲苯", "2,4-dinitrotoluene", 0.0003, 0),
	t3("tnt", "2,4,6-三硝基甲苯", "2,4,6-trinitrotoluene", 0.5, 0),
	t3("nitrochlorobenzene", "硝基氯苯", "nitrochlorobenzenes", 0.05, 0),
	t3("dinitrochlorobenzene24", "2,4-二硝基氯苯", "2,4-dinitrochlorobenzene", 0.5, 0),
	t3("dichlorophenol24", "2,4-二氯苯酚", "2,4-dichlorophenol", 0.093, 0),
	t3("trichlorophenol246", "2,4,6-三氯苯酚", "2,4,6-trichlorophenol", 0.2, 0),
	t3("pcp", "五氯酚", "pentachlorophenol", 0.009, 0),
	t3("aniline", "苯胺", "aniline", 0.1, 0),
	t3("benzidine", "联苯胺", "benzidine", 0.0002, 0),
	t3("acrylamide", "丙烯酰胺", "acrylamide", 0.0005, 0),
	t3("acrylonitrile", "丙烯腈", "acrylonitrile", 0.1, 0),
	t3("dbp", "邻苯二甲酸二丁酯", "dibutyl phthalate", 0.003, 0),
	t3("dehp", "邻苯二甲酸二(2-乙基己基)酯", "di(2-ethylhexyl) phthalate", 0.008, 0),
	t3("hydrazine", "水合肼", "hydrazine hydrate", 0.01, 0),
	t3("tetraethyl_lead", "四乙基铅", "tetraethyl lead", 0.0001, 0),
	t3("pyridine", "吡啶", "pyridine", 0.2, 0),
	t3("turpentine", "松节油", "turpentine", 0.2, 0),
	t3("picric_acid", "苦味酸", "picric acid", 0.5, 0),
	t3("butyl_xanthate", "丁基黄原酸", "butyl xanthate", 0.005, 0),
	t3("active_chlorine", "活性氯", "active chlorine", 0.01, 0),
	t3("ddt", "滴滴涕", "DDT", 0.001, 0),
	t3("lindane", "林丹", "lindane", 0.002, 0),
	t3("heptachlor_epoxide", "环氧七氯", "heptachlor epoxide", 0.0002, 0),
	t3("parathion", "对硫磷", "parathion", 0.003, 0),
	t3("methyl_parathion", "甲基对硫磷", "methyl parathion", 0.002, 0),
	t3("malathion", "马拉硫磷", "malathion", 0.05, 0),
	t3("dimethoate", "乐果", "dimethoate", 0.08, 0),
	t3("dichlorvos", "敌敌畏", "dichlorvos", 0.05, 0),
	t3("trichlorfon", "敌百虫", "trichlorfon", 0.05, 0),
	t3("demeton", "内吸磷", "demeton", 0.03, 0),
	t3("chlorothalonil", "百菌清", "chlorothalonil", 0.01, 0),
	t3("carbaryl", "甲萘威", "carbaryl", 0.05, 0),
	t3("deltamethrin", "溴氰菊酯", "deltamethrin", 0.02, 0),
	t3("atrazine", "阿特拉津", "atrazine", 0.003, 0),
	t3("bap", "苯并(a)芘", "benzo[a]pyrene", 2.8e-6, 0),
	t3("methylmercury", "甲基汞", "methylmercury", 1.0e-6, 0),
	t3("pcbs", "多氯联苯", "polychlorinated biphenyls", 2.0e-5, 0),
	t3("microcystin_lr", "微囊藻毒素-LR", "microcystin-LR", 0.001, 0),
	t3("yellow_phosphorus", "黄磷", "yellow phosphorus", 0.003, 0),
	t3("mo", "钼", "molybdenum", 0.07, hm),
	t3("co", "钴", "cobalt", 1.0, hm),
	t3("be", "铍", "beryllium", 0.002, 0),
	t3("b", "硼", "boron", 0.5, 0),
	t3("sb", "锑", "antimony", 0.005, hm),
	t3("ni", "镍", "nickel", 0.02, hm),
	t3("ba", "钡", "barium", 0.7, 0),
	t3("v", "钒", "vanadium", 0.05, hm),
	t3("ti", "钛", "titanium", 0.1, 0),
	t3("tl", "铊", "thallium", 0.0001, hm),

	// Measured parameters without a GB 3838-2002 limit: automatic-station
	// items (facts §2.1), lake trophic-state items, hydrology, and the
	// discharge-standard items of GB 18918-2002 / GB 8978-1996 (facts §4).
	other("conductivity", "电导率", "electrical conductivity", unitConductivity, 0),
	other("turbidity", "浊度", "turbidity", unitTurbidity, 0),
	other("flow", "流量", "flow", unitFlow, 0),
	other("ss", "悬浮物", "suspended solids", unitMass, 0),
	other("toc", "总有机碳", "total organic carbon", unitMass, 0),
	other("tds", "溶解性总固体", "total dissolved solids", unitMass, 0),
	other("salinity", "盐度", "salinity", unitSalinity, 0),
	other("chlorophyll", "叶绿素a", "chlorophyll a", unitMass, 0),
	other("transparency", "透明度", "transparency (Secchi depth)", unitLength, 0),
	other("water_level", "水位", "water level", unitLength, 0),
	other("velocity", "流速", "flow velocity", unitVelocity, 0),
	other("color", "色度", "colour (dilution factor)", unitDilution, 0),
	other("animal_oil", "动植物油", "animal and vegetable oils", unitMass, 0),
	other("phosphate", "磷酸盐(以P计)", "phosphate (as P)", unitMass, 0),
	other("anilines", "苯胺类", "anilines", unitMass, tox),
	other("nitrobenzenes", "硝基苯类", "nitrobenzenes", unitMass, tox),
	other("cr", "总铬", "total chromium", unitMass, tox|hm),
	other("ag", "总银", "total silver", unitMass, tox|hm),
	other("gross_alpha", "总α放射性", "gross alpha activity", unitRadioactivity, tox),
	other("gross_beta", "总β放射性", "gross beta activity", unitRadioactivity, tox),
	// A conservative tracer (rhodamine WT) released by a tracer drill to measure a
	// reach's travel and spread: never judged, it only tunes the plume model.
	other("tracer", "示踪剂(罗丹明WT)", "tracer (rhodamine WT)", unitMass, 0),
}

// numParams is the number of known parameters (the table less the unknown row).
const numParams = len(params) - 1

// def returns the table row of a code, or nil for an unknown code.
func def(code string) *paramDef {
	id := lookup(code)
	if id == 0 {
		return nil
	}
	return &params[id]
}

// Known reports whether code is a canonical parameter code.
func Known(code string) bool { return lookup(code) != 0 }

// Codes returns every canonical parameter code in the standard's order:
// Table 1, Table 2, Table 3, then the parameters without a limit. The slice is
// new on every call.
func Codes() []string {
	out := make([]string, 0, numParams)
	for i := 1; i < len(params); i++ {
		out = append(out, params[i].code)
	}
	return out
}

// Order returns the position of code in Codes (0 for water temperature, the
// first item of Table 1), or -1 for an unknown code. Use it to list items in
// the standard's order.
func Order(code string) int { return int(lookup(code)) - 1 }

// Describe returns the Chinese and English names of a parameter, e.g.
// ("高锰酸盐指数", "permanganate index"), or two empty strings for an unknown code.
func Describe(code string) (zh, en string) {
	d := def(code)
	if d == nil {
		return "", ""
	}
	return d.zh, d.en
}

// IsToxic reports whether the parameter is a toxic substance: mercury,
// cadmium, chromium (VI), arsenic, lead and cyanide of Table 1, every Table 3
// specific item, and the GB 8978-1996 class-one pollutants and toxic groups
// (total Cr, Ag, anilines, nitrobenzenes, gross α/β).
func IsToxic(code string) bool {
	d := def(code)
	return d != nil && d.has(flagToxic)
}

// IsHeavyMetal reports whether the parameter is a heavy metal (重金属), which
// 环办〔2011〕22号 puts first among main pollutants when it exceeds (facts
// §2.4). Listed: Hg, Cd, Cr(VI), total Cr, Pb, the metalloid As (counted as
// a heavy metal in Chinese regulation), Cu, Zn, Ni, Co, Mo, Sb, V, Tl and Ag.
// Selenium, beryllium, boron, barium, titanium and organometallics are not.
func IsHeavyMetal(code string) bool {
	d := def(code)
	return d != nil && d.has(flagHeavyMetal)
}

// Evaluated2011 reports whether the parameter is one of the 21 items of the
// routine evaluation (环办〔2011〕22号 §2.1): GB 3838-2002 Table 1 without
// water temperature, total nitrogen and fecal coliforms.
func Evaluated2011(code string) bool {
	d := def(code)
	return d != nil && d.has(flagEvaluated)
}

// DrinkingLimit returns the single limit of a GB 3838-2002 Table 2 or Table 3
// item (drinking-water sources only), in the canonical unit.
func DrinkingLimit(code string) (float64, bool) {
	d := def(code)
	if d == nil || (d.table != table2 && d.table != table3) {
		return 0, false
	}
	return d.single, true
}
