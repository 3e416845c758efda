package io.pbft.replica.execution;

import com.google.protobuf.ByteString;

/**
 * The executor's two safety rules, in one place, as {@link io.pbft.replica.core} keeps the
 * protocol's in its Rules. A replica always runs {@link #PAPER}. The class is package-private and
 * not final so that the chaos harness's tests, compiled into this package, can plant deliberate
 * bugs by overriding one rule and check that the checkers catch them; nothing in the shipped code
 * can.
 */
class ExecutionRules {
  static final ExecutionRules PAPER = new ExecutionRules();

  /**
   * Exactly once (section 4.1): a request whose timestamp is not above the last one executed for
   * its client (or earlier in the same batch) is not executed again.
   */
  boolean executedAlready(long timestamp, long lastExecutedTimestamp) {
    return timestamp <= lastExecutedTimestamp;
  }

  /** A fetched state is installed only if its digest is the one its checkpoint certificate names. */
  boolean fetchedStateMatches(ByteString digest, ByteString certified) {
    return digest.equals(certified);
  }
}
