// Package evaluate assesses periods of water-quality data by the official
// method, 《地表水环境质量评价办法（试行）》(环办〔2011〕22号), as summarised in
// the project's fact sheet (shared/domain/facts.md §2).
//
//   - Section: a section's period assessment. Each item is the arithmetic
//     mean of its samples, a value below the detection limit counting as half
//     the limit (环办监测函〔2020〕82号); the section's class is the worst class
//     of the 21 evaluated items (single-factor method), with its descriptor
//     and colour, and, when worse than Class Ⅲ, up to three main pollutants.
//   - River: a river rated from its sections, by the mean concentrations
//     (fewer than 5 sections) or by the shares of section classes (5 or
//     more). Lake rates a lake or reservoir from the means of its points.
//   - Source: a drinking-water source, adding the Table 2 and 3 limits.
//   - TLI: the trophic state index TLI(Σ) of a lake or reservoir (综合营养状态指数)
//     from the period means of chlorophyll a, TP, TN, transparency and CODMn, and its
//     grade (贫营养 … 重度富营养); not rated without all five.
//   - Indicators: the water indicators of the city plan's table 表2—1 (share
//     of river sections of Class Ⅲ or better, share of 劣Ⅴ sections, share of
//     good drinking-water sources) against its 2025 targets.
//
// Values must be in the canonical units of package standard. The functions
// are pure: they keep no state between calls.
package evaluate
