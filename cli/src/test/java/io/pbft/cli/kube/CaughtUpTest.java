package io.pbft.cli.kube;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class CaughtUpTest {
  private static final int N = 4;
  private static final int F = 1;
  private static final long K = 128;

  @Test
  void atThePeersLastExecutedIsCaughtUp() {
    assertTrue(CaughtUp.judge(OptionalLong.of(500), false, List.of(500L, 500L, 500L), N, F, K).caughtUp());
  }

  @Test
  void withinOneCheckpointIntervalIsCaughtUp() {
    assertTrue(CaughtUp.judge(OptionalLong.of(372), false, List.of(500L, 500L, 500L), N, F, K).caughtUp());
  }

  @Test
  void moreThanOneCheckpointIntervalBehindIsNot() {
    CaughtUp.Verdict v = CaughtUp.judge(OptionalLong.of(371), false, List.of(500L, 500L, 500L), N, F, K);
    assertFalse(v.caughtUp(), v.reason());
  }

  @Test
  void fLiarsReportingHugeNumbersCannotHoldItBack() {
    // one (f = 1) peer claims far more than anyone executed: the target is the second highest
    assertTrue(CaughtUp.judge(OptionalLong.of(500), false, List.of(1_000_000L, 500L, 480L), N, F, K).caughtUp());
  }

  @Test
  void fPlusOnePeersAheadAreBelieved() {
    assertFalse(CaughtUp.judge(OptionalLong.of(0), false, List.of(1_000L, 1_000L, 0L), N, F, K).caughtUp());
  }

  @Test
  void fewerThanFPlusOnePeersAnsweringIsNotCaughtUp() {
    CaughtUp.Verdict v = CaughtUp.judge(OptionalLong.of(500), false, List.of(500L), N, F, K);
    assertFalse(v.caughtUp(), v.reason());
  }

  @Test
  void aReplicaThatDoesNotAnswerIsNotCaughtUp() {
    assertFalse(CaughtUp.judge(OptionalLong.empty(), false, List.of(0L, 0L, 0L), N, F, K).caughtUp());
  }

  @Test
  void failedStorageIsNotCaughtUp() {
    assertFalse(CaughtUp.judge(OptionalLong.of(500), true, List.of(500L, 500L, 500L), N, F, K).caughtUp());
  }

  @Test
  void aGroupOfOneNeedsNoPeers() {
    assertTrue(CaughtUp.judge(OptionalLong.of(0), false, List.of(), 1, 0, K).caughtUp());
  }
}
