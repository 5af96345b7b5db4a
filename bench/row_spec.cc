#include "row_spec.h"

namespace pb::bench {

RowSpec::RowSpec(std::string family_, const std::string& kernel_id) : family(std::move(family_)) {
  const auto slash = kernel_id.find('/');
  backend = kernel_id.substr(0, slash);
  if (slash != std::string::npos) variant = kernel_id.substr(slash + 1);
}

RowSpec& RowSpec::p(const std::string& key, const std::string& value) {
  params.emplace_back(key, value);
  return *this;
}

RowSpec& RowSpec::p(const std::string& key, long long value) { return p(key, std::to_string(value)); }

std::string RowSpec::name() const {
  std::string n = family + "/" + backend + (variant.empty() ? "" : "/" + variant);
  for (const auto& [k, v] : params) n += "/" + k + ":" + v;
  return n;
}

nlohmann::ordered_json RowSpec::meta() const {
  nlohmann::ordered_json j = {{"family", family}, {"backend", backend}, {"variant", variant}, {"device", device},
                      {"dtype", "f32"}, {"dense_baseline", dense_baseline}, {"library_peer", library_peer}};
  nlohmann::ordered_json ps = nlohmann::ordered_json::object();
  for (const auto& [k, v] : params) {
    ps[k] = v;
    if (k == "dtype") j["dtype"] = v;
  }
  j["params"] = ps;
  return j;
}

}  // namespace pb::bench
