#include "voxseg/core/volume.h"

#include <gtest/gtest.h>

using voxseg::Geometry;

TEST(Geometry, IndexToPhysicalUsesSpacingDirectionAndOrigin) {
  Geometry g;
  g.spacing = {0.5, 2.0, 3.0};
  g.origin = {-10, 20, 5};
  g.direction = {-1, 0, 0, 0, 0, 1, 0, 1, 0};  // x -> -L, y -> S, z -> P
  const auto p = g.index_to_physical({2, 3, 4});
  EXPECT_DOUBLE_EQ(p[0], -10 - 1.0);
  EXPECT_DOUBLE_EQ(p[1], 20 + 12.0);
  EXPECT_DOUBLE_EQ(p[2], 5 + 6.0);
}

TEST(Geometry, OrientationCodes) {
  Geometry lps;
  EXPECT_EQ(lps.orientation_code(), "LPS");
  Geometry ras;
  ras.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
  EXPECT_EQ(ras.orientation_code(), "RAS");
  Geometry oblique;  // small tilt keeps the dominant axis
  oblique.direction = {1, 0, 0, 0, 0.991, 0.134, 0, -0.134, 0.991};
  EXPECT_EQ(oblique.orientation_code(), "LPS");
  Geometry two_d;
  two_d.dims = 2;
  EXPECT_EQ(two_d.orientation_code(), "LP");
}

TEST(Geometry, DifferencesAreNamed) {
  Geometry a, b;
  a.size = b.size = {4, 5, 6};
  EXPECT_TRUE(voxseg::same_geometry(a, b));
  b.spacing[2] = 2.5;
  EXPECT_NE(voxseg::describe_geometry_difference(a, b).find("spacing"), std::string::npos);
  b = a;
  b.origin[0] = 1.0;
  EXPECT_NE(voxseg::describe_geometry_difference(a, b).find("origin"), std::string::npos);
  b = a;
  b.size[1] = 7;
  EXPECT_NE(voxseg::describe_geometry_difference(a, b).find("size"), std::string::npos);
  b = a;
  b.origin[0] = 1e-6;  // within tolerance
  EXPECT_TRUE(voxseg::same_geometry(a, b));
}
