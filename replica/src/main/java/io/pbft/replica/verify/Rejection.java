package io.pbft.replica.verify;

/**
 * Why untrusted input was dropped: one list for the inbound verifier (identity, size, signatures,
 * shape) and the core (everything that needs the replica's state). Each reason has a stable label
 * that logs, counters and the status RPC use; tests name the enum constant.
 */
public enum Rejection {
  // --- the inbound verifier: before the core sees anything
  UNKNOWN_SENDER("unknown sender"),
  OVERSIZED_MESSAGE("oversized message"),
  BAD_SIGNATURE("bad signature"),
  /** No authenticator entry for this replica checks under the pair key it shares with the sender. */
  BAD_PEER_MAC("no valid peer MAC for this replica"),
  /** A message that may travel as proof (or carries a key) came with MACs instead of a signature. */
  MAC_NOT_ALLOWED("MACs on a message that must be signed"),
  MALFORMED("malformed message"),
  UNKNOWN_FIELDS("unknown fields"),
  TOO_MANY_ENTRIES("more entries than the protocol allows"),
  /**
   * A message of another configuration epoch than the one this verifier checks, or one that
   * carries as proof a message of another epoch than its own (docs/RECONFIGURATION.md).
   */
  WRONG_EPOCH("message of another configuration epoch"),
  EMBEDDED_BAD_SIGNATURE("embedded message with a bad signature"),
  STALE_UNCHECKED("stale or far ahead (carried signatures not checked)"),
  EMBEDDED_INVALID_REQUEST("carried request invalid"),
  UNKNOWN_CLIENT("request from unknown client"),
  OVERSIZED_OPERATION("oversized operation"),
  BAD_CLIENT_SIGNATURE("bad client signature"),
  BAD_CLIENT_MAC("no valid client MAC for this replica"),
  WRONG_CLIENT("request for another client's session"),
  READ_ONLY_ORDERED("read-only request to be ordered"),

  // --- client requests at the core
  STALE_TIMESTAMP("request timestamp older than last executed"),
  READ_ONLY_AT_CORE("read-only request handed to the core"),
  REQUEST_QUEUE_FULL("pending request queue full"),

  // --- normal case (section 4.2)
  SENDER_NOT_SIGNER("sender does not match signer"),
  PRE_PREPARE_FROM_NON_PRIMARY("pre-prepare from non-primary"),
  WRONG_VIEW("wrong view"),
  OUTSIDE_WINDOW("sequence number outside window"),
  OVERSIZED_BATCH("oversized batch"),
  DIGEST_MISMATCH("digest mismatch"),
  INVALID_REQUEST_IN_PRE_PREPARE("pre-prepare with invalid request"),
  CONFLICTING_PRE_PREPARE("conflicting pre-prepare"),
  /** The time the primary proposed lies further than protocol.clockSkewMs from this replica's clock. */
  CLOCK_SKEW("proposed time outside the clock skew"),
  /**
   * The time the primary proposed is earlier than that of the batch before it, or later than that
   * of the batch after it, in the same view (the primary's own proposals).
   */
  TIME_GOES_BACK("proposed time earlier than the previous batch's"),
  PREPARE_FROM_PRIMARY("prepare from primary"),
  CONFLICTING_PREPARE("conflicting prepare"),
  CONFLICTING_COMMIT("conflicting commit"),

  // --- checkpoints and catching up (sections 4.3, TOCS 5.2 and 5.3)
  NOT_A_CHECKPOINT_SEQUENCE("not a checkpoint sequence number"),
  INVALID_COMMITTED_CERTIFICATE("invalid committed certificate"),
  FETCH_NOT_HELD("fetch for a checkpoint not held"),
  UNEXPECTED_STATE_CHUNK("unexpected state chunk"),
  STATE_SOURCE_SILENT("state transfer source silent"),
  LYING_STATE_SOURCE("lying state transfer source"),

  // --- view changes (section 4.4)
  INVALID_VIEW_CHANGE("invalid view-change"),
  NEW_VIEW_FROM_NON_PRIMARY("new-view from non-primary"),
  INVALID_NEW_VIEW("invalid new-view"),
  WRONG_NEW_VIEW_PRE_PREPARES("new-view with wrong pre-prepares");

  private final String label;

  Rejection(String label) {
    this.label = label;
  }

  /** The stable, human-readable name used in logs, counters and the status RPC. */
  public String label() {
    return label;
  }

  @Override
  public String toString() {
    return label;
  }
}
