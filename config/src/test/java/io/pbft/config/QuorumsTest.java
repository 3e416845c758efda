package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class QuorumsTest {
  @Test
  void isTwoFPlusOneWhenNIsThreeFPlusOne() {
    for (int f = 0; f <= 20; f++) {
      assertEquals(2 * f + 1, Quorums.of(3 * f + 1, f), "f = " + f);
    }
  }

  @Test
  void anyTwoQuorumsShareACorrectReplicaAndTheCorrectOnesAloneMakeOne() {
    for (int n = 1; n <= 60; n++) {
      for (int f = 0; 3 * f + 1 <= n; f++) {
        int q = Quorums.of(n, f);
        assertTrue(2 * q - n >= f + 1, "n = " + n + ", f = " + f + ": two quorums of " + q + " may share only faulty ones");
        assertTrue(2 * (q - 1) - n < f + 1, "n = " + n + ", f = " + f + ": " + q + " is not the smallest such quorum");
        assertTrue(q <= n - f, "n = " + n + ", f = " + f + ": the n - f correct replicas cannot make a quorum of " + q);
      }
    }
  }

  @Test
  void fiveReplicasWithOneFaultNeedFourNotThree() {
    assertEquals(4, Quorums.of(5, 1));
    assertEquals(4, Quorums.of(6, 1));
    assertEquals(5, Quorums.of(7, 1));
    assertEquals(3, Quorums.of(4, 0));
    assertEquals(1, Quorums.of(1, 0));
  }

  @Test
  void refusesAGroupThatCannotTolerateF() {
    assertThrows(IllegalArgumentException.class, () -> Quorums.of(3, 1));
    assertThrows(IllegalArgumentException.class, () -> Quorums.of(4, -1));
  }
}
