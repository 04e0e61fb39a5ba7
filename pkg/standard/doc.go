// Package standard holds GB 3838-2002 (地表水环境质量标准) as data, and judges
// single readings against it and against outfall discharge permits
// (GB 18918-2002, GB 8978-1996).
//
// Every value is in a parameter's canonical unit (CanonicalUnit); convert
// station data with ToCanonical first (HJ 212 sends several metals in µg/L or
// ng/L, GB 3838-2002 is in mg/L) and reject impossible values with Plausible.
//
//   - Classify gives the class (Ⅰ…Ⅴ, 劣Ⅴ) of a Table 1 value: limits are
//     inclusive, DO is a lower limit, pH is a range, TP has lake/reservoir
//     limits and TN is classified for lakes and reservoirs only.
//   - Multiple gives the over-standard multiple (C − C_Ⅲ)/C_Ⅲ of
//     环办〔2011〕22号, not computed for water temperature, pH or DO.
//   - Judge judges a reading against a site's Target: a section's target
//     class, a drinking-water source's class plus the Table 2 and Table 3
//     limits, or an outfall's Permit (PermitByName, CustomPermit).
//
// Classify, Multiple and Judge do not allocate: a parameter code is interned
// by a generated string switch (params_lookup.go, `go generate`) into an index
// of a read-only table. The package has no mutable state and no init work.
//
// The limits are those of the project's fact sheet (shared/domain/facts.md
// §1 and §4), which cites its sources; comments name the clause each rule
// comes from.
//
// # Parameter codes
//
// Canonical codes are lower case. GB 3838-2002 Table 1 (basic items):
// temp, ph, do, codmn, cod, bod5, nh3n, tp, tn, cu, zn, fluoride, se, as, hg,
// cd, cr6, pb, cyanide, phenol, petroleum, las, sulfide, fecal_coliform.
// Table 2 (drinking-water sources, supplementary): sulfate, chloride,
// nitrate, fe, mn.
//
// Table 3 (drinking-water sources, specific items; single upper limits in
// mg/L, all counted as toxic by IsToxic), as No, code, 中文, English, limit:
//
//	 1  chloroform              三氯甲烷, chloroform, 0.06
//	 2  ccl4                    四氯化碳, carbon tetrachloride, 0.002
//	 3  bromoform               三溴甲烷, bromoform, 0.1
//	 4  dichloromethane         二氯甲烷, dichloromethane, 0.02
//	 5  dichloroethane12        1,2-二氯乙烷, 1,2-dichloroethane, 0.03
//	 6  epichlorohydrin         环氧氯丙烷, epichlorohydrin, 0.02
//	 7  vinyl_chloride          氯乙烯, vinyl chloride, 0.005
//	 8  dichloroethene11        1,1-二氯乙烯, 1,1-dichloroethene, 0.03
//	 9  dichloroethene12        1,2-二氯乙烯, 1,2-dichloroethene, 0.05
//	10  tce                     三氯乙烯, trichloroethene, 0.07
//	11  pce                     四氯乙烯, tetrachloroethene, 0.04
//	12  chloroprene             氯丁二烯, chloroprene, 0.002
//	13  hexachlorobutadiene     六氯丁二烯, hexachlorobutadiene, 0.0006
//	14  styrene                 苯乙烯, styrene, 0.02
//	15  formaldehyde            甲醛, formaldehyde, 0.9
//	16  acetaldehyde            乙醛, acetaldehyde, 0.05
//	17  acrolein                丙烯醛, acrolein, 0.1
//	18  chloral                 三氯乙醛, chloral, 0.01
//	19  benzene                 苯, benzene, 0.01
//	20  toluene                 甲苯, toluene, 0.7
//	21  ethylbenzene            乙苯, ethylbenzene, 0.3
//	22  xylene                  二甲苯, xylenes, 0.5
//	23  cumene                  异丙苯, cumene, 0.25
//	24  chlorobenzene           氯苯, chlorobenzene, 0.3
//	25  dichlorobenzene12       1,2-二氯苯, 1,2-dichlorobenzene, 1.0
//	26  dichlorobenzene14       1,4-二氯苯, 1,4-dichlorobenzene, 0.3
//	27  trichlorobenzene        三氯苯, trichlorobenzenes, 0.02
//	28  tetrachlorobenzene      四氯苯, tetrachlorobenzenes, 0.02
//	29  hexachlorobenzene       六氯苯, hexachlorobenzene, 0.05
//	30  nitrobenzene            硝基苯, nitrobenzene, 0.017
//	31  dinitrobenzene          二硝基苯, dinitrobenzene, 0.5
//	32  dinitrotoluene24        2,4-二硝基甲苯, 2,4-dinitrotoluene, 0.0003
//	33  tnt                     2,4,6-三硝基甲苯, 2,4,6-trinitrotoluene, 0.5
//	34  nitrochlorobenzene      硝基氯苯, nitrochlorobenzenes, 0.05
//	35  dinitrochlorobenzene24  2,4-二硝基氯苯, 2,4-dinitrochlorobenzene, 0.5
//	36  dichlorophenol24        2,4-二氯苯酚, 2,4-dichlorophenol, 0.093
//	37  trichlorophenol246      2,4,6-三氯苯酚, 2,4,6-trichlorophenol, 0.2
//	38  pcp                     五氯酚, pentachlorophenol, 0.009
//	39  aniline                 苯胺, aniline, 0.1
//	40  benzidine               联苯胺, benzidine, 0.0002
//	41  acrylamide              丙烯酰胺, acrylamide, 0.0005
//	42  acrylonitrile           丙烯腈, acrylonitrile, 0.1
//	43  dbp                     邻苯二甲酸二丁酯, dibutyl phthalate, 0.003
//	44  dehp                    邻苯二甲酸二(2-乙基己基)酯, di(2-ethylhexyl) phthalate, 0.008
//	45  hydrazine               水合肼, hydrazine hydrate, 0.01
//	46  tetraethyl_lead         四乙基铅, tetraethyl lead, 0.0001
//	47  pyridine                吡啶, pyridine, 0.2
//	48  turpentine              松节油, turpentine, 0.2
//	49  picric_acid             苦味酸, picric acid, 0.5
//	50  butyl_xanthate          丁基黄原酸, butyl xanthate, 0.005
//	51  active_chlorine         活性氯, active chlorine, 0.01
//	52  ddt                     滴滴涕, DDT, 0.001
//	53  lindane                 林丹, lindane, 0.002
//	54  heptachlor_epoxide      环氧七氯, heptachlor epoxide, 0.0002
//	55  parathion               对硫磷, parathion, 0.003
//	56  methyl_parathion        甲基对硫磷, methyl parathion, 0.002
//	57  malathion               马拉硫磷, malathion, 0.05
//	58  dimethoate              乐果, dimethoate, 0.08
//	59  dichlorvos              敌敌畏, dichlorvos, 0.05
//	60  trichlorfon             敌百虫, trichlorfon, 0.05
//	61  demeton                 内吸磷, demeton, 0.03
//	62  chlorothalonil          百菌清, chlorothalonil, 0.01
//	63  carbaryl                甲萘威, carbaryl, 0.05
//	64  deltamethrin            溴氰菊酯, deltamethrin, 0.02
//	65  atrazine                阿特拉津, atrazine, 0.003
//	66  bap                     苯并(a)芘, benzo[a]pyrene, 2.8e-6
//	67  methylmercury           甲基汞, methylmercury, 1.0e-6
//	68  pcbs                    多氯联苯, polychlorinated biphenyls, 2.0e-5
//	69  microcystin_lr          微囊藻毒素-LR, microcystin-LR, 0.001
//	70  yellow_phosphorus       黄磷, yellow phosphorus, 0.003
//	71  mo                      钼, molybdenum, 0.07
//	72  co                      钴, cobalt, 1.0
//	73  be                      铍, beryllium, 0.002
//	74  b                       硼, boron, 0.5
//	75  sb                      锑, antimony, 0.005
//	76  ni                      镍, nickel, 0.02
//	77  ba                      钡, barium, 0.7
//	78  v                       钒, vanadium, 0.05
//	79  ti                      钛, titanium, 0.1
//	80  tl                      铊, thallium, 0.0001
//
// Parameters without a GB 3838-2002 limit, which stations and outfall
// monitors report and permits may limit: conductivity (µS/cm), turbidity
// (NTU), flow (m3/s), ss (suspended solids), toc, tds, salinity (‰),
// chlorophyll (chlorophyll a, mg/L), transparency (m), water_level (m),
// velocity (m/s), color (色度, dilution factor 倍), animal_oil (动植物油),
// phosphate (磷酸盐 as P), anilines (苯胺类), nitrobenzenes (硝基苯类), cr
// (total chromium), ag (total silver), gross_alpha and gross_beta (Bq/L), and
// tracer (a tracer drill's rhodamine WT, mg/L; docs/plume.md "Tracer drills").
package standard
