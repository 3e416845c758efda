package io.pbft.replica.core;

import io.pbft.proto.SignedMessage;
import java.util.List;

/**
 * The quorum and certificate rules of the paper, in one place. A replica always runs
 * {@link #PAPER}. The class is package-private and not final so that the chaos harness's tests,
 * compiled into this package, can plant deliberate bugs by overriding one rule and check that the
 * checkers catch them; nothing in the shipped code can.
 */
class Rules {
  static final Rules PAPER = new Rules();

  /** prepared(m, v, n, i) needs this many matching PREPAREs from distinct backups: 2f. */
  int preparesNeeded(int f) {
    return 2 * f;
  }

  /** committed-local(m, v, n, i) needs this many matching COMMITs from distinct replicas: 2f + 1. */
  int commitsNeeded(int f) {
    return 2 * f + 1;
  }

  /** The PREPAREs that count towards prepared: those matching the pre-prepare's view and digest. */
  int countPrepares(Slot slot) {
    return slot.matching(slot.prepares);
  }

  /** A pre-prepare is accepted only from the primary of its view. */
  boolean prePrepareSenderValid(int sender, int primaryOfView) {
    return sender == primaryOfView;
  }

  /**
   * The pre-prepares a backup installs from a NEW-VIEW: those it recomputed from the VIEW-CHANGEs
   * (it refuses a NEW-VIEW whose own list differs).
   */
  ViewChangeRules.Plan newViewPlan(ViewChangeRules.Plan recomputed, List<SignedMessage> given,
      ViewChangeRules rules) {
    return recomputed;
  }
}
