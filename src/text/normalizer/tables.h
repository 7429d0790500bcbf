// src/text/normalizer/tables.h - the language data tables (src/text/data/*.tsv), embedded at build time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cosyvoice::tn {

// One data row: the tab-separated fields of a non-empty, non-comment line.
using TableRow = std::vector<std::string>;

// The rows of an embedded table, e.g. Table("en_units.tsv"). Parsed once, kept for the process.
// Throws cosyvoice::Error (kRuntime) for a name that was not embedded: that is a build mistake.
const std::vector<TableRow> &Table(std::string_view name);

// The second field of the row whose first field is `key` in `table` (empty when absent).
std::string Lookup(std::string_view table, std::string_view key);

}  // namespace cosyvoice::tn
