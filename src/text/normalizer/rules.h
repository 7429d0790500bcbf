// src/text/normalizer/rules.h - the rule lists of each language, in priority order.
#pragma once

#include <vector>

#include "text/normalizer/rule_engine.h"

namespace cosyvoice::tn {

std::vector<Rule> ChineseRules();  // zh_rules.cc
std::vector<Rule> EnglishRules();  // en_rules.cc

}  // namespace cosyvoice::tn
