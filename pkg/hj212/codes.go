package hj212

// System codes (ST) riverwatch uses (facts.md §3.4, §3.10).
const (
	// STSurfaceWater: surface-water quality monitoring — river automatic stations.
	STSurfaceWater = "21"
	// STWaterPollution: surface-water pollution source — outfall and wastewater monitors.
	STWaterPollution = "32"
	// STSystem: system interaction, used by responses (9011–9014).
	STSystem = "91"
)

// Command codes (CN) the gateway handles (facts.md §3.5).
const (
	CNSetTime          = "1012" // host → field: set the field machine's time (SystemTime)
	CNTimeCalibration  = "1013" // field → host: please set my time
	CNRealtime         = "2011" // real-time data
	CNDay              = "2031" // daily data
	CNMinute           = "2051" // minute data
	CNHour             = "2061" // hourly data
	CNRequestResponse  = "9011" // answer to a request, with QnRtn
	CNExecutionResult  = "9012" // result of executing a request, with ExeRtn
	CNNotifyResponse   = "9013" // answer to a notification
	CNDataResponse     = "9014" // answer to a data upload whose Flag has A set
	CNHeartbeat        = "9015" // heartbeat (public code; probably HJ 212-2025)
	QnRtnReady         = "1"    // QnRtn: ready to execute
	QnRtnRejected      = "2"    // QnRtn: request rejected
	QnRtnPasswordError = "3"    // QnRtn: PW error
	QnRtnMNError       = "4"    // QnRtn: MN error
	ExeRtnDone         = "1"    // ExeRtn: executed
	ExeRtnFailed       = "2"    // ExeRtn: failed, reason unknown
)

// systemCodes are the ST codes of HJ 212-2017 (facts.md §3.4).
var systemCodes = map[string]string{
	"21": "地表水质量监测", "22": "空气质量监测", "23": "声环境质量监测", "24": "地下水质量监测",
	"25": "土壤质量监测", "26": "海水质量监测", "27": "挥发性有机物监测",
	"31": "大气环境污染源", "32": "地表水体环境污染源", "33": "地下水体环境污染源",
	"34": "海洋环境污染源", "35": "土壤环境污染源", "36": "声环境污染源", "37": "振动环境污染源",
	"38": "放射性环境污染源", "39": "工地扬尘污染源", "41": "电磁环境污染源",
	"51": "烟气排放过程监控", "52": "污水排放过程监控", "91": "系统交互",
	// New in HJ 212-2025 (anchors.md §2.2): electricity use of production and treatment
	// facilities (d2xxxx/d3xxxx codes) and key process conditions (p991xx flags).
	"44": "用电监控 (HJ 212-2025)", "45": "关键生产工况 (HJ 212-2025)",
}

// KnownST reports whether st is a system code of the standard (HJ 212-2025's included).
func KnownST(st string) bool { _, ok := systemCodes[st]; return ok }

// DescribeST names a system code for a person: "ST 44 (用电监控 (HJ 212-2025))", or
// "ST 99 (not a system code of HJ 212)".
func DescribeST(st string) string {
	if name, ok := systemCodes[st]; ok {
		return "ST " + st + " (" + name + ")"
	}
	return "ST " + st + " (not a system code of HJ 212)"
}

// command2025 is a command code HJ 212-2025 added (anchors.md §2.2; facts.md §3.5).
type command2025 struct {
	name string
	dir  Direction // as sent by a field machine
}

// commands2025 are the command codes new in HJ 212-2025 that riverwatch knows of. The
// gateway turns none of them into readings: each is refused with its name, never silently.
var commands2025 = map[string]command2025{
	"1001": {"上传数采仪硬件序列号 (hardware serial for MN assignment)", DirUpload},
	"1002": {"设置数采仪入网编码 (set the MN)", DirRequest},
	"1014": {"获取/设置新密钥 (SM4 key rotation)", DirUpload},
	"2052": {"噪声单值 (noise single value)", DirUpload},
	"2111": {"焚烧炉5分钟均值 (furnace 5-minute mean)", DirUpload},
}

// DescribeCN names a command code for a person: "CN 2052 (噪声单值 (noise single value),
// new in HJ 212-2025)", "CN 2013". v is the packet's edition: a 2025 code in an older
// packet says so.
func DescribeCN(cn string, v Version) string {
	c, ok := commands2025[cn]
	if !ok {
		return "CN " + cn
	}
	d := "CN " + cn + " (" + c.name + ", new in HJ 212-2025"
	if v < V2025 {
		d += ", in a packet read as " + v.String()
	}
	return d + ")"
}

// WaterST reports whether st is a system code whose data are water data: surface water,
// groundwater and seawater quality, water pollution sources and wastewater process
// monitoring. Water readings under another code (air, noise, …) are a misconfigured
// station.
func WaterST(st string) bool {
	switch st {
	case "21", "24", "26", "32", "33", "34", "52":
		return true
	}
	return false
}

// Direction says who sends a command.
type Direction uint8

// Directions of commands.
const (
	DirUnknown   Direction = iota // not a command of the standard
	DirUpload                     // field → host: data or a request of the field machine
	DirRequest                    // host → field only: a field machine never sends it
	DirResponse                   // 9011–9014: answers, never answered themselves
	DirHeartbeat                  // 9015
)

// CommandDirection classifies a command code (facts.md §3.5). Commands that go both ways
// (1011, 1061, 2011, …) are uploads when a field machine sends them.
func CommandDirection(cn string) Direction {
	switch cn {
	case "1011", "1013", "1061", "1063", "2011", "2013", "2021", "2031", "2041", "2051",
		"2061", "2062", "2081":
		return DirUpload
	case "1000", "1012", "1062", "1064", "1072", "2012", "2022":
		return DirRequest
	case CNRequestResponse, CNExecutionResult, CNNotifyResponse, CNDataResponse:
		return DirResponse
	case CNHeartbeat:
		return DirHeartbeat
	}
	if c, ok := commands2025[cn]; ok {
		return c.dir
	}
	if len(cn) == 4 && cn[:2] == "30" && cn >= "3011" && cn <= "3024" {
		return DirRequest // calibration, sampling, back-flush, … (host → field)
	}
	return DirUnknown
}

// IsData reports whether cn is a data upload the gateway turns into readings.
func IsData(cn string) bool {
	switch cn {
	case CNRealtime, CNMinute, CNHour, CNDay:
		return true
	}
	return false
}
