// The machine id must tell apart CPUs that a VM names alike ("AMD EPYC" for Zen 3 and Zen 4).
#include <gtest/gtest.h>

#include "prunebench/cpu.h"

TEST(Cpu, MicroarchitectureTellsZen3FromZen4) {
  EXPECT_EQ(pb::cpu::microarchitecture("AuthenticAMD", 25, 1), "zen3");     // EPYC 7003 (Milan)
  EXPECT_EQ(pb::cpu::microarchitecture("AuthenticAMD", 25, 0x21), "zen3");  // Ryzen 5000
  EXPECT_EQ(pb::cpu::microarchitecture("AuthenticAMD", 25, 17), "zen4");    // EPYC 9004 (Genoa)
  EXPECT_EQ(pb::cpu::microarchitecture("AuthenticAMD", 25, 0xa0), "zen4");  // EPYC 97x4 (Bergamo)
  EXPECT_EQ(pb::cpu::microarchitecture("AuthenticAMD", 26, 2), "zen5");
  EXPECT_EQ(pb::cpu::microarchitecture("GenuineIntel", 6, 143), "sapphire-rapids");
  EXPECT_EQ(pb::cpu::microarchitecture("GenuineIntel", 6, 207), "emerald-rapids");
  EXPECT_EQ(pb::cpu::microarchitecture("GenuineIntel", 6, 200), "f6m200");  // not in the table: still distinct
  EXPECT_EQ(pb::cpu::microarchitecture("", -1, -1), "");
}

TEST(Cpu, MachineIdNamesTheMicroarchitectureAndCores) {
  const std::string id = pb::cpu::machine_id(), uarch = pb::cpu::microarchitecture();
  if (!uarch.empty()) {
    EXPECT_NE(id.find(uarch), std::string::npos) << id;
  }
  EXPECT_EQ(id.substr(id.size() - 1), "c");
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << id;
}
