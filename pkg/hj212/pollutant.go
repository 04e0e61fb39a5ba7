package hj212

import "sort"

// Pollutant maps a transmitted item code to riverwatch's canonical parameter code (the
// contract's, lower case) and the unit the standard transmits its concentration in.
type Pollutant struct {
	Code  string // as transmitted: w21003 (2017) or 060 (2005)
	Param string // canonical parameter: nh3n
	Unit  string // transmission unit of concentration values: mg/L, µg/L, ng/L, L/s, …
	Name  string // Chinese name in the standard
}

// pollutants2017 is HJ 212-2017 Appendix B (water part), facts.md §3.8, with the codes
// surface-water stations use beyond it (w01003 turbidity). Items without a canonical
// parameter in riverwatch (colour in 度, bacteria total, alkyl mercury, Kjeldahl and organic
// nitrogen, nitrite, chlorophyll whose unit is unverified, …) are left out on purpose: the
// gateway refuses them as unknown_parameter rather than guess.
//
// Watch the units: Hg, Cd, Cr(VI), As, Pb (w20111–w20120), Be, Se (w20127, w20128), the
// dissolved Hg and Cd (w20142, w20143) and benzo[a]pyrene arrive in µg/L, Tl in ng/L, and
// w00000 is wastewater flow in L/s; GB 3838-2002 is in mg/L (facts.md §0 item 9).
var pollutants2017 = map[string]Pollutant{
	"w00000": {"w00000", "flow", "L/s", "污水"},
	"w01001": {"w01001", "ph", "", "pH值"},
	"w01003": {"w01003", "turbidity", "NTU", "浊度"},
	"w01006": {"w01006", "tds", "mg/L", "溶解性总固体"},
	"w01009": {"w01009", "do", "mg/L", "溶解氧"},
	"w01010": {"w01010", "temp", "°C", "水温"},
	"w01012": {"w01012", "ss", "mg/L", "悬浮物"},
	"w01014": {"w01014", "conductivity", "µS/cm", "电导率"},
	"w01017": {"w01017", "bod5", "mg/L", "五日生化需氧量"},
	"w01018": {"w01018", "cod", "mg/L", "化学需氧量"},
	"w01019": {"w01019", "codmn", "mg/L", "高锰酸盐指数"},
	"w01020": {"w01020", "toc", "mg/L", "总有机碳"},
	"w02003": {"w02003", "fecal_coliform", "个/L", "粪大肠菌群"},
	"w19002": {"w19002", "las", "mg/L", "阴离子表面活性剂"},
	"w20089": {"w20089", "tl", "ng/L", "铊"},
	"w20111": {"w20111", "hg", "µg/L", "总汞"},
	"w20115": {"w20115", "cd", "µg/L", "总镉"},
	"w20116": {"w20116", "cr", "mg/L", "总铬"},
	"w20117": {"w20117", "cr6", "µg/L", "六价铬"},
	"w20119": {"w20119", "as", "µg/L", "总砷"},
	"w20120": {"w20120", "pb", "µg/L", "总铅"},
	"w20121": {"w20121", "ni", "mg/L", "总镍"},
	"w20122": {"w20122", "cu", "mg/L", "总铜"},
	"w20123": {"w20123", "zn", "mg/L", "总锌"},
	"w20124": {"w20124", "mn", "mg/L", "总锰"},
	"w20125": {"w20125", "fe", "mg/L", "总铁"},
	"w20126": {"w20126", "ag", "mg/L", "总银"},
	"w20127": {"w20127", "be", "µg/L", "总铍"},
	"w20128": {"w20128", "se", "µg/L", "总硒"},
	"w20138": {"w20138", "cu", "mg/L", "铜"},
	"w20139": {"w20139", "zn", "mg/L", "锌"},
	"w20140": {"w20140", "se", "mg/L", "硒"},
	"w20141": {"w20141", "as", "mg/L", "砷"},
	"w20142": {"w20142", "hg", "µg/L", "汞"},
	"w20143": {"w20143", "cd", "µg/L", "镉"},
	"w20144": {"w20144", "pb", "mg/L", "铅"},
	"w21001": {"w21001", "tn", "mg/L", "总氮"},
	"w21003": {"w21003", "nh3n", "mg/L", "氨氮"},
	"w21007": {"w21007", "nitrate", "mg/L", "硝酸盐"},
	"w21011": {"w21011", "tp", "mg/L", "总磷"},
	"w21016": {"w21016", "cyanide", "mg/L", "氰化物"},
	"w21017": {"w21017", "fluoride", "mg/L", "氟化物"},
	"w21019": {"w21019", "sulfide", "mg/L", "硫化物"},
	"w21022": {"w21022", "chloride", "mg/L", "氯化物"},
	"w21038": {"w21038", "sulfate", "mg/L", "硫酸盐"},
	"w22001": {"w22001", "petroleum", "mg/L", "石油类"},
	"w23002": {"w23002", "phenol", "mg/L", "挥发酚"},
	"w25043": {"w25043", "bap", "µg/L", "苯并[a]芘"},
}

// pollutants2005 is the HJ/T 212-2005 column of the same table (facts.md §3.8). The
// transmission units are taken to be the 2017 ones; this is an assumption to confirm with
// the vendors of 2005 devices (facts.md §7 item 6).
var pollutants2005 = map[string]Pollutant{
	"B01": {"B01", "flow", "L/s", "污水"},
	"001": {"001", "ph", "", "pH值"},
	"003": {"003", "ss", "mg/L", "悬浮物"},
	"010": {"010", "bod5", "mg/L", "五日生化需氧量"},
	"011": {"011", "cod", "mg/L", "化学需氧量"},
	"015": {"015", "toc", "mg/L", "总有机碳"},
	"550": {"550", "fecal_coliform", "个/L", "粪大肠菌群"},
	"520": {"520", "las", "mg/L", "阴离子表面活性剂"},
	"020": {"020", "hg", "µg/L", "总汞"},
	"022": {"022", "cd", "µg/L", "总镉"},
	"023": {"023", "cr", "mg/L", "总铬"},
	"024": {"024", "cr6", "µg/L", "六价铬"},
	"026": {"026", "as", "µg/L", "总砷"},
	"027": {"027", "pb", "µg/L", "总铅"},
	"028": {"028", "ni", "mg/L", "总镍"},
	"029": {"029", "cu", "mg/L", "总铜"},
	"030": {"030", "zn", "mg/L", "总锌"},
	"031": {"031", "mn", "mg/L", "总锰"},
	"032": {"032", "fe", "mg/L", "总铁"},
	"033": {"033", "ag", "mg/L", "总银"},
	"034": {"034", "be", "µg/L", "总铍"},
	"035": {"035", "se", "µg/L", "总硒"},
	"060": {"060", "nh3n", "mg/L", "氨氮"},
	"064": {"064", "nitrate", "mg/L", "硝酸盐"},
	"065": {"065", "tn", "mg/L", "总氮"},
	"070": {"070", "cyanide", "mg/L", "氰化物"},
	"071": {"071", "sulfide", "mg/L", "硫化物"},
	"072": {"072", "fluoride", "mg/L", "氟化物"},
	"080": {"080", "petroleum", "mg/L", "石油类"},
	"090": {"090", "chloride", "mg/L", "氯化物"},
	"101": {"101", "tp", "mg/L", "总磷"},
	"110": {"110", "phenol", "mg/L", "挥发酚"},
	"540": {"540", "bap", "µg/L", "苯并[a]芘"},
}

// LookupPollutant returns the pollutant of a code as a packet of version v transmits it:
// 2005 packets use the 2005 codes, 2017 and 2025 packets the 2017 codes (the 2025 changes
// are not verified; facts.md §7 item 4). Codes are case-sensitive.
func LookupPollutant(v Version, code string) (Pollutant, bool) {
	if v == V2005 {
		p, ok := pollutants2005[code]
		return p, ok
	}
	p, ok := pollutants2017[code]
	return p, ok
}

// CodeFor returns the code under which version v transmits a canonical parameter, and its
// transmission unit: the simulator uses it to build uploads from canonical values. Where
// several codes map to one parameter, the total (w201xx) is chosen.
func CodeFor(v Version, param string) (Pollutant, bool) {
	table := pollutants2017
	if v == V2005 {
		table = pollutants2005
	}
	var best Pollutant
	found := false
	for _, p := range table {
		if p.Param == param && (!found || p.Code < best.Code) {
			best, found = p, true
		}
	}
	return best, found
}

// Pollutants returns every pollutant version v transmits that riverwatch maps, sorted by
// code.
func Pollutants(v Version) []Pollutant {
	table := pollutants2017
	if v == V2005 {
		table = pollutants2005
	}
	out := make([]Pollutant, 0, len(table))
	for _, p := range table {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
