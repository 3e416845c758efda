package io.pbft.replica.core;

/**
 * Deliberate protocol bugs that the chaos harness must catch. Package-private on purpose: only
 * code compiled into this package (a test build) can switch one on, through
 * {@link ReplicaCore#plant(PlantedBug)}; the shipped API has no way to.
 */
enum PlantedBug {
  /** prepared() with 2f - 1 matching prepares instead of 2f. */
  PREPARE_QUORUM_TOO_SMALL,
  /** committed-local with 2f matching commits instead of 2f + 1. */
  COMMIT_QUORUM_TOO_SMALL,
  /** A pre-prepare accepted from a replica that is not the primary of its view. */
  PRE_PREPARE_FROM_ANYONE,
  /** A NEW-VIEW accepted without recomputing its pre-prepares from its VIEW-CHANGEs. */
  NEW_VIEW_NOT_RECOMPUTED,
  /** A prepare counted towards prepared even when its digest differs from the pre-prepare's. */
  PREPARE_DIGEST_NOT_CHECKED
}
